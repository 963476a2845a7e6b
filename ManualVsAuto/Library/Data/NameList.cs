namespace ManualVsAuto.Data;

/// <summary>
/// Names held compactly: every name's symbols (<see cref="Vocabulary"/> indices 1–26, one byte each) back to back
/// in one array, and where each name starts. No string per name lives in memory; the indexer makes one on demand.
/// </summary>
public sealed class NameList : IReadOnlyList<string>
{
    private readonly byte[] symbols;
    private readonly int[] starts; // Count + 1 entries: name i is symbols[starts[i]..starts[i + 1]]

    /// <param name="symbols">Symbols of all names back to back (may be longer than used).</param>
    /// <param name="starts">Where each name starts, then where the last one ends.</param>
    public NameList(byte[] symbols, int[] starts)
    {
        this.symbols = symbols;
        this.starts = starts;
    }

    public static NameList From(IEnumerable<string> names)
    {
        var list = names as IReadOnlyCollection<string> ?? names.ToList();
        var starts = new int[list.Count + 1];
        var symbols = new byte[list.Sum(n => (long)n.Length)];
        int i = 0, at = 0;
        foreach (var name in list)
        {
            starts[i++] = at;
            foreach (char c in name) symbols[at++] = (byte)Vocabulary.ToIndex(c);
        }
        starts[i] = at;
        return new NameList(symbols, starts);
    }

    public int Count => starts.Length - 1;

    /// <summary>Name <paramref name="i"/>'s symbols (1–26; the end token is not stored).</summary>
    public ReadOnlySpan<byte> Symbols(int i) => symbols.AsSpan(starts[i], starts[i + 1] - starts[i]);

    public int Length(int i) => starts[i + 1] - starts[i];

    public string this[int i] => string.Create(Length(i), Symbols(i).ToArray(), (chars, s) =>
    {
        for (int k = 0; k < s.Length; k++) chars[k] = Vocabulary.ToChar(s[k]);
    });

    public IEnumerator<string> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
