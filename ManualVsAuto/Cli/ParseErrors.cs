using System.CommandLine;
using System.CommandLine.Parsing;

namespace ManualVsAuto.Cli;

/// <summary>The first parse error in one line, with "did you mean" for a mistyped option or command.</summary>
public static class ParseErrors
{
    public static string Describe(ParseResult parsed)
    {
        if (parsed.UnmatchedTokens.Count > 0)
        {
            string token = parsed.UnmatchedTokens[0];
            var command = parsed.CommandResult.Command;
            string kind = token.StartsWith('-') ? "option" : "command or argument";
            if (Names(command).Contains(token, StringComparer.Ordinal)) // only an option after `--` is unmatched by its own name
                return $"'{token}' comes after '--', which ends the options (what follows is taken as arguments); put {token} before '--'.";
            return Suggest(token, Names(command)) is { } near
                ? $"unknown {kind} '{token}' for {Shown(command)}; did you mean {near}?"
                : $"unknown {kind} '{token}' for {Shown(command)}.";
        }
        var error = parsed.Errors[0];
        // A value outside an option's choices: name the option (the parser's message does not).
        if (OptionOf(error.SymbolResult) is { } option &&
            Quoted(error.Message) is [var got, .. var allowed] && allowed.Length > 0 && error.Message.Contains("not recognized", StringComparison.Ordinal))
            return $"{option.Option.Name} must be one of {string.Join(", ", allowed)}, got '{got}'.";
        // Some parser messages span lines (lists of choices): keep the error to one line, ended as a sentence.
        string line = string.Join(" ", error.Message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
        return line.EndsWith('.') || line.EndsWith('?') ? line : line + ".";
    }

    private static OptionResult? OptionOf(SymbolResult? result)
    {
        for (; result is not null; result = result.Parent)
            if (result is OptionResult option) return option;
        return null;
    }

    private static string[] Quoted(string message) =>
        System.Text.RegularExpressions.Regex.Matches(message, "'([^']*)'").Select(m => m.Groups[1].Value).ToArray();

    /// <summary>The closest name within two edits (or one the token starts), or null.</summary>
    public static string? Suggest(string token, IEnumerable<string> names)
    {
        var best = names
            .Select(n => (Name: n, Distance: n.StartsWith(token, StringComparison.Ordinal) && token.TrimStart('-').Length >= 2 ? 0 : Distance(token, n)))
            .Where(x => x.Distance <= Math.Min(2, Math.Max(1, x.Name.Length / 3)))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name;
    }

    /// <summary>Options (with aliases, including the inherited --help) and subcommands a user can type here.</summary>
    private static IEnumerable<string> Names(Command command) =>
        command.Options.SelectMany(o => o.Aliases.Prepend(o.Name))
            .Concat(command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))
            .Where(n => n.StartsWith("--", StringComparison.Ordinal) || !n.StartsWith('-'))
            .Distinct();

    private static string Shown(Command command) => command is RootCommand ? "the program" : $"'{command.Name}'";

    /// <summary>Levenshtein distance with a transposition counted as one edit.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
