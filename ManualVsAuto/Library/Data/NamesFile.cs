using System.Text;

namespace ManualVsAuto.Data;

/// <summary>
/// Reads a names file. The rule: UTF-8 (a BOM is skipped), LF or CRLF line ends, lines that are empty
/// or only whitespace are skipped, every other line is one name made only of a–z. Anything else
/// ('.', which is the end-of-name token, upper case, digits, inner or surrounding spaces) is an error
/// naming the file, the line and the column, and so is a file without a single name.
/// </summary>
public static class NamesFile
{
    public static IReadOnlyList<string> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        }
        catch (FileNotFoundException) { throw new DataException($"{path}: file not found."); }
        catch (DirectoryNotFoundException) { throw new DataException($"{path}: file not found."); }
        catch (DecoderFallbackException) { throw new DataException($"{path}: not valid UTF-8 text."); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot read ({e.Message}).", e);
        }
        return Parse(text, path);
    }

    public static IReadOnlyList<string> Parse(string text, string source)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var names = new List<string>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            if (string.IsNullOrWhiteSpace(line)) continue;
            for (int col = 0; col < line.Length; col++)
            {
                char c = line[col];
                if (!Vocabulary.IsNameChar(c))
                {
                    string why = c == Vocabulary.EndToken ? " ('.' is the end-of-name token)" : "";
                    throw new DataException(
                        $"{source}:{i + 1}:{col + 1}: character {Describe(c)} is not allowed{why}; a name is one line of a-z only.");
                }
            }
            names.Add(line);
        }
        if (names.Count == 0) throw new DataException($"{source}: no names found (the file is empty or blank).");
        return names;
    }

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";
}
