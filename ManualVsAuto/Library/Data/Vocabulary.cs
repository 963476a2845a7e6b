namespace ManualVsAuto.Data;

/// <summary>The lecture's character vocabulary: '.' (start/end of a name) is 0, then a–z as 1..26.</summary>
public static class Vocabulary
{
    public const char EndToken = '.';
    public const int Size = 27;

    public static int ToIndex(char c) => c == EndToken ? 0 : c - 'a' + 1;

    public static char ToChar(int index) => index == 0 ? EndToken : (char)('a' + index - 1);

    public static bool IsNameChar(char c) => c is >= 'a' and <= 'z';
}
