using System.Numerics;

namespace ManualVsAuto.Data;

/// <summary>
/// A bit-exact port of the subset of CPython's <c>random</c> module (MT19937 Mersenne Twister,
/// <c>random.seed(int)</c>, <c>getrandbits</c>, <c>_randbelow</c>, <c>shuffle</c>, <c>random</c>)
/// needed to reproduce <c>random.seed(42); random.shuffle(words)</c> exactly, so the
/// train/validation split is identical to the one produced by the lecture's Python code.
/// </summary>
/// <remarks>Not thread-safe, and (like CPython's) not suitable for cryptographic use.</remarks>
public sealed class PythonRandom
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908B0DFu;
    private const uint UpperMask = 0x80000000u;
    private const uint LowerMask = 0x7FFFFFFFu;

    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>Equivalent to <c>random.Random(seed)</c> / <c>random.seed(seed)</c> for an int seed.</summary>
    public PythonRandom(long seed)
        : this((BigInteger)seed)
    {
    }

    /// <summary>Equivalent to <c>random.Random(seed)</c> for an arbitrarily large int seed.</summary>
    public PythonRandom(BigInteger seed)
    {
        InitByArray(SeedToKey(seed));
    }

    /// <summary>CPython's <c>genrand_uint32</c>: next tempered 32-bit output.</summary>
    public uint NextUInt32()
    {
        if (_index >= N)
        {
            Twist();
        }

        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>CPython's <c>getrandbits(k)</c> for 1 &lt;= k &lt;= 64.</summary>
    public ulong GetRandBits(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, 64);

        // CPython's fast path: keep the *most* significant k bits of a single word.
        if (k <= 32)
        {
            return NextUInt32() >> (32 - k);
        }

        // CPython fills 32-bit words from least to most significant; only the last
        // (most significant) word is truncated, again keeping its high bits.
        ulong low = NextUInt32();
        ulong high = NextUInt32() >> (64 - k);
        return low | (high << 32);
    }

    /// <summary>
    /// CPython's <c>_randbelow_with_getrandbits(n)</c>: uniform int in [0, n) by rejection sampling.
    /// </summary>
    public int RandBelow(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(n, 0);

        // k = n.bit_length(); rejection keeps the result unbiased and matches CPython's draw count.
        int k = 32 - BitOperations.LeadingZeroCount((uint)n);
        ulong r = GetRandBits(k);
        while (r >= (ulong)n)
        {
            r = GetRandBits(k);
        }

        return (int)r;
    }

    /// <summary>CPython's <c>random.shuffle(x)</c> (in-place Fisher-Yates, walking from the end).</summary>
    public void Shuffle<T>(IList<T> list)
    {
        ArgumentNullException.ThrowIfNull(list);

        for (int i = list.Count - 1; i >= 1; i--)
        {
            int j = RandBelow(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>CPython's <c>random.random()</c> (<c>genrand_res53</c>): a double in [0, 1) with 53 random bits.</summary>
    public double Random()
    {
        uint a = NextUInt32() >> 5;
        uint b = NextUInt32() >> 6;
        return ((a * 67108864.0) + b) * (1.0 / 9007199254740992.0);
    }

    // random_seed(): abs(n) split into 32-bit words, least significant first; 0 -> [0].
    private static uint[] SeedToKey(BigInteger seed)
    {
        BigInteger n = BigInteger.Abs(seed);
        if (n.IsZero)
        {
            return [0u];
        }

        byte[] bytes = n.ToByteArray(isUnsigned: true, isBigEndian: false);
        var key = new uint[(bytes.Length + 3) / 4];
        for (int i = 0; i < bytes.Length; i++)
        {
            key[i / 4] |= (uint)bytes[i] << (8 * (i % 4));
        }

        return key;
    }

    // init_genrand() from the reference MT19937 implementation.
    private void InitGenRand(uint s)
    {
        _mt[0] = s;
        for (int i = 1; i < N; i++)
        {
            _mt[i] = (1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30))) + (uint)i;
        }

        _index = N;
    }

    // init_by_array() from the reference MT19937 implementation (unchecked uint wrap-around is intended).
    private void InitByArray(uint[] key)
    {
        InitGenRand(19650218u);
        int i = 1;
        int j = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++;
            j++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }

            if (j >= key.Length)
            {
                j = 0;
            }
        }

        for (int k = N - 1; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }
        }

        _mt[0] = 0x80000000u; // MSB is 1, assuring a non-zero initial state.
    }

    // Regenerates all N words at once, as genrand_uint32 does when the buffer is exhausted.
    private void Twist()
    {
        int kk;
        uint y;
        for (kk = 0; kk < N - M; kk++)
        {
            y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
            _mt[kk] = _mt[kk + M] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }

        for (; kk < N - 1; kk++)
        {
            y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
            _mt[kk] = _mt[kk + (M - N)] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }

        y = (_mt[N - 1] & UpperMask) | (_mt[0] & LowerMask);
        _mt[N - 1] = _mt[M - 1] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        _index = 0;
    }
}
