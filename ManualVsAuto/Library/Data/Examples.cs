using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ManualVsAuto.Data;

/// <summary>
/// The lecture's examples of a sequence of names: for every name, one per character and one for the end token,
/// each a context of the <c>blockSize</c> previous symbols ('.'-padded) and the next symbol. Nothing is expanded:
/// an example is found from the names' symbols through the running count of examples per name (12 bytes per name
/// with the order), and any example, minibatch or chunk is made on demand; <see cref="Pack"/> trades 4 bytes per
/// example for faster random draws.
/// </summary>
public sealed class Examples
{
    private readonly NameList names;
    private readonly int[] order;   // the names, by index into `names`, in this split's order
    private readonly long[] first;  // first[w]: the index of name order[w]'s first example; first[^1] = Count

    public Examples(NameList names, int[] order, int blockSize)
    {
        this.names = names;
        this.order = order;
        BlockSize = blockSize;
        first = new long[order.Length + 1];
        for (int w = 0; w < order.Length; w++) first[w + 1] = first[w] + names.Length(order[w]) + 1;
    }

    public int BlockSize { get; }

    private byte[]? packed; // after Pack(): each example's context and target, block_size + 1 bytes

    /// <summary>
    /// Stores every example's context and target as bytes (block_size + 1 per example: 4 for the lecture's 182,625
    /// training examples is 0.7 MB). Training draws millions of random examples; packed, a draw is one memory access
    /// instead of a binary search and four dependent lookups. <see cref="Gather"/> gives the same rows either way.
    /// </summary>
    public Examples Pack()
    {
        if (packed is not null) return this;
        int width = BlockSize + 1;
        var table = new byte[checked(Count * width)];
        var context = new long[BlockSize];
        long row = 0;
        for (int w = 0; w < order.Length; w++)
        {
            for (int k = 0; k <= names.Length(order[w]); k++, row++)
            {
                var entry = table.AsSpan((int)(row * width), width);
                entry[BlockSize] = (byte)Fill(w, k, context);
                for (int j = 0; j < BlockSize; j++) entry[j] = (byte)context[j];
            }
        }
        packed = table;
        return this;
    }

    public long Count => first[^1];

    /// <summary>The examples at <paramref name="rows"/> as (n, block_size) and (n) int64 tensors, in that order.</summary>
    public (Tensor X, Tensor Y) Gather(ReadOnlySpan<long> rows)
    {
        var X = empty([rows.Length, BlockSize], ScalarType.Int64);
        var Y = empty([rows.Length], ScalarType.Int64);
        GatherInto(rows, X, Y);
        return (X, Y);
    }

    /// <summary><see cref="Gather"/> into given (n, block_size) and (n) contiguous int64 tensors.</summary>
    public void GatherInto(ReadOnlySpan<long> rows, Tensor X, Tensor Y)
    {
        var x = MemoryMarshal.Cast<byte, long>(X.bytes);
        var y = MemoryMarshal.Cast<byte, long>(Y.bytes);
        if (x.Length != rows.Length * BlockSize || y.Length != rows.Length) throw new ArgumentException($"X and Y must hold {rows.Length} examples");
        for (int i = 0; i < rows.Length; i++)
        {
            if ((ulong)rows[i] >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"{Count} examples");
            if (packed is not null)
            {
                var entry = packed.AsSpan((int)(rows[i] * (BlockSize + 1)), BlockSize + 1);
                for (int j = 0; j < BlockSize; j++) x[i * BlockSize + j] = entry[j];
                y[i] = entry[BlockSize];
                continue;
            }
            int w = Array.BinarySearch(first, rows[i]); // first is strictly increasing: every name has ≥ 1 example
            if (w < 0) w = ~w - 1;
            y[i] = Fill(w, (int)(rows[i] - first[w]), x.Slice(i * BlockSize, BlockSize));
        }
    }

    /// <summary>Examples [start, start + count) as int64 tensors: for chunked evaluation.</summary>
    public (Tensor X, Tensor Y) Slice(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count);
        var rows = new long[count];
        for (int i = 0; i < count; i++) rows[i] = start + i;
        return Gather(rows);
    }

    /// <summary>All examples as tensors, as the lecture's <c>build_dataset</c> returns them (small data and tests).</summary>
    public (Tensor X, Tensor Y) ToTensors() => Slice(0, checked((int)Count));

    /// <summary>Example <paramref name="k"/> of the w-th name: its context into <paramref name="context"/>; returns the target.</summary>
    private long Fill(int w, int k, Span<long> context)
    {
        var s = names.Symbols(order[w]);
        for (int j = 0; j < BlockSize; j++)
        {
            int at = k - BlockSize + j;
            context[j] = at >= 0 ? s[at] : 0;
        }
        return k < s.Length ? s[k] : 0;
    }
}
