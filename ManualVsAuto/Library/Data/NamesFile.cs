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
    public static NameList Load(string path) => Parse(ReadBytes(path), path);

    /// <summary>The file's bytes; a missing or unreadable file is a <see cref="DataException"/>.</summary>
    public static byte[] ReadBytes(string path)
    {
        try
        {
            EnsureFits(new FileInfo(path).Length, AvailableMemory.Bytes(), path);
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException) { throw new DataException($"{path}: file not found."); }
        catch (DirectoryNotFoundException) { throw new DataException($"{path}: file not found."); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot read ({e.Message}).", e);
        }
    }

    /// <summary>Reading takes the file's bytes and one symbol per byte (a huge file is refused before it is read).</summary>
    public const int BytesPerFileByte = 2;

    /// <summary>Throws a one-line <see cref="DataException"/> when a file of <paramref name="length"/> bytes cannot be loaded in <paramref name="available"/> bytes.</summary>
    public static void EnsureFits(long length, long available, string path)
    {
        double needed = (double)BytesPerFileByte * length;
        if (needed <= available && length <= Array.MaxLength) return;
        throw new DataException($"{path}: {AvailableMemory.Size(length)} is too large to load as a names file " +
            $"(it needs about {AvailableMemory.Size(needed)} of memory, {AvailableMemory.Size(available)} is available); the lecture's names.txt is 228 kB.");
    }

    /// <summary>
    /// The names in a file's bytes, by the rule above. An ordinary file (a–z lines, LF or CRLF, ASCII blank lines)
    /// is read straight into a <see cref="NameList"/>, one byte per letter; anything else (other bytes, non-ASCII
    /// blanks, no names) goes through <see cref="Parse(string, string)"/> on the decoded text, which gives the
    /// exact error or the exact names.
    /// </summary>
    public static NameList Parse(byte[] bytes, string source)
    {
        int at = bytes.AsSpan().StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        var symbols = new byte[bytes.Length - at];
        var starts = new List<int>();
        int used = 0, lineNumber = 0;
        while (at <= bytes.Length)
        {
            lineNumber++;
            int end = bytes.AsSpan(at).IndexOf((byte)'\n');
            end = end < 0 ? bytes.Length : at + end;
            var line = bytes.AsSpan(at, end - at);
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (line.Length > 0 && !line.ContainsAnyExceptInRange((byte)'a', (byte)'z'))
            {
                starts.Add(used);
                foreach (byte b in line) symbols[used++] = (byte)(b - 'a' + 1);
            }
            else if (line.ContainsAnyExcept(AsciiBlanks))
            {
                // An ASCII line is judged here, at its first byte outside a-z (a NUL in a sparse 1 GB file is
                // named at once, without decoding the whole file); other bytes need the decoded text.
                if (line.ContainsAnyInRange((byte)0x80, (byte)0xFF)) return ParseText(bytes, source);
                int col = line.IndexOfAnyExceptInRange((byte)'a', (byte)'z');
                throw NotAllowed(source, lineNumber, col + 1, (char)line[col]);
            }
            at = end + 1;
        }
        if (starts.Count == 0) return ParseText(bytes, source);
        starts.Add(used);
        return new NameList(symbols, starts.ToArray());
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static readonly System.Buffers.SearchValues<byte> AsciiBlanks = System.Buffers.SearchValues.Create(" \t\r\v\f"u8);

    private static NameList ParseText(byte[] bytes, string source)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            // Where: the first byte that does not start a valid UTF-8 sequence, as line and byte column.
            System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _, replaceInvalidSequences: false);
            int lineStart = bytes.AsSpan(0, valid).LastIndexOf((byte)'\n') + 1;
            int line = bytes.AsSpan(0, valid).Count((byte)'\n') + 1;
            throw new DataException($"{source}:{line}:{valid - lineStart + 1}: byte 0x{bytes[valid]:X2} is not valid UTF-8; a names file is UTF-8 text, one name of a-z per line.");
        }
        return NameList.From(Parse(text, source));
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
                if (!Vocabulary.IsNameChar(c)) throw NotAllowed(source, i + 1, col + 1, c);
            }
            names.Add(line);
        }
        if (names.Count == 0) throw new DataException($"{source}: no names found (the file is empty or blank).");
        return names;
    }

    private static DataException NotAllowed(string source, int line, int column, char c)
    {
        string why = c == Vocabulary.EndToken ? " ('.' is the end-of-name token)" : "";
        return new DataException($"{source}:{line}:{column}: character {Describe(c)} is not allowed{why}; a name is one line of a-z only.");
    }

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";
}
