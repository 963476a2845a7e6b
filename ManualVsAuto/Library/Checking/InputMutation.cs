using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// Catches code that writes into tensors it was only meant to read (a backward that mutates its inputs, saved tensors
/// or incoming gradient; a workbook answer that edits the lecture's tensors in place) and code that hands back one of
/// them instead of a new tensor. Shared by the custom-Function rule test and the workbook's "in-place damage" check,
/// so both judge mutation the same way.
/// </summary>
/// <remarks>
/// API:
/// <code>
/// using var before = InputMutation.Snapshot([("x", x), ("grad_output", g)]); // bitwise clones, owned by `before`
/// /* run the code under test */
/// IReadOnlyList&lt;TensorChange&gt; changed = before.Changed();            // which changed, and where
/// IReadOnlyList&lt;TensorAlias&gt; aliases = before.Aliases([("dx", dx)]); // which returned tensor is (a view of) an input
/// </code>
/// <see cref="Changed"/> compares bytes, so it is bitwise and NaN-aware: a NaN that stays the same NaN is unchanged
/// (NaN ≠ NaN under ==), and 0 → −0 is a change (0 == −0 under ==). A tensor whose shape or dtype changed (resize_,
/// set_) or that was disposed counts as changed too. <see cref="Aliases"/> reports a returned tensor that is the same
/// handle as a snapshotted one or shares its storage (a view, a detach, an alias). The snapshots are detached from any
/// dispose scope and freed by <see cref="Dispose"/>; the snapshotted tensors themselves are only read, never owned.
/// </remarks>
internal sealed class InputMutation : IDisposable
{
    private readonly List<(string Name, Tensor Original, Tensor Clone)> entries;

    private InputMutation(List<(string, Tensor, Tensor)> entries) => this.entries = entries;

    /// <summary>Takes a bitwise clone of each tensor, to compare with later. Names must be distinct.</summary>
    public static InputMutation Snapshot(IEnumerable<(string Name, Tensor Value)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<(string, Tensor, Tensor)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, t) in tensors)
        {
            if (!names.Add(name)) throw new ArgumentException($"'{name}' is snapshotted twice.", nameof(tensors));
            list.Add((name, t, t.detach().cpu().clone().contiguous().DetachFromDisposeScope()));
        }
        return new InputMutation(list);
    }

    /// <summary>The names snapshotted, in order.</summary>
    public IReadOnlyList<string> Names => entries.Select(e => e.Name).ToList();

    /// <summary>The snapshotted tensors that differ bitwise from their clone, in snapshot order.</summary>
    public IReadOnlyList<TensorChange> Changed()
    {
        var changes = new List<TensorChange>();
        using var noGrad = no_grad();
        foreach (var (name, original, clone) in entries)
        {
            if (original.IsInvalid)
            {
                changes.Add(new TensorChange(name, 0, null, double.NaN, double.NaN, "was disposed"));
                continue;
            }
            if (!original.shape.SequenceEqual(clone.shape) || original.dtype != clone.dtype)
            {
                changes.Add(new TensorChange(name, clone.numel(), null, double.NaN, double.NaN,
                    $"changed from {clone.dtype} {Cmp.Shape(clone.shape)} to {original.dtype} {Cmp.Shape(original.shape)}"));
                continue;
            }
            using var scope = NewDisposeScope();
            var now = original.detach().cpu().contiguous();
            if (BitwiseEqual(clone, now)) continue;
            var a = clone.bytes;
            var b = now.bytes;
            int size = (int)clone.element_size();
            long first = -1, count = 0, n = clone.numel();
            for (long i = 0; i < n; i++)
            {
                if (a.Slice((int)(i * size), size).SequenceEqual(b.Slice((int)(i * size), size))) continue;
                if (first < 0) first = i;
                count++;
            }
            var index = ElementStats.Unravel(first, clone.shape);
            double before = Element(clone, first), after = Element(now, first);
            changes.Add(new TensorChange(name, count, index, before, after,
                $"{count} of {n} elements changed; first at {Index(index)}: {NumberFormat.Full(before)} → {NumberFormat.Full(after)}"));
        }
        return changes;
    }

    /// <summary>
    /// Which of <paramref name="returned"/> is one of the snapshotted tensors or shares storage with one (a view,
    /// detach or alias of it), in the order returned.
    /// </summary>
    public IReadOnlyList<TensorAlias> Aliases(IEnumerable<(string Name, Tensor Value)> returned)
    {
        ArgumentNullException.ThrowIfNull(returned);
        var aliases = new List<TensorAlias>();
        foreach (var (outName, t) in returned)
        {
            if (t is null || t.IsInvalid) continue;
            foreach (var (name, original, _) in entries)
            {
                if (original.IsInvalid) continue;
                bool sameHandle = t.Handle == original.Handle;
                if (sameHandle || SharesStorage(t, original))
                {
                    aliases.Add(new TensorAlias(outName, name, sameHandle));
                    break;
                }
            }
        }
        return aliases;
    }

    /// <summary>The clone of <paramref name="name"/> taken by <see cref="Snapshot"/> (owned by this snapshot).</summary>
    public Tensor Before(string name) => entries.First(e => e.Name == name).Clone;

    /// <summary>The same dtype, shape and bytes: NaN equals the same NaN; 0 and −0 differ.</summary>
    public static bool BitwiseEqual(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var scope = NewDisposeScope();
        return a.detach().cpu().contiguous().bytes.SequenceEqual(b.detach().cpu().contiguous().bytes);
    }

    public void Dispose()
    {
        foreach (var (_, _, clone) in entries) clone.Dispose();
        entries.Clear();
    }

    /// <summary>Same storage: its base address, read through a storage of the tensor's own element type (another type converts).</summary>
    internal static bool SharesStorage(Tensor a, Tensor b)
    {
        if (a.device_type != b.device_type || a.numel() == 0 || b.numel() == 0) return false;
        var pa = StorageAddress(a);
        var pb = StorageAddress(b);
        return pa is not null && pa == pb;
    }

    private static IntPtr? StorageAddress(Tensor t)
    {
        return t.dtype switch
        {
            ScalarType.Float32 => Address(t.storage<float>()),
            ScalarType.Float64 => Address(t.storage<double>()),
            ScalarType.Int64 => Address(t.storage<long>()),
            ScalarType.Int32 => Address(t.storage<int>()),
            ScalarType.Int16 => Address(t.storage<short>()),
            ScalarType.Int8 => Address(t.storage<sbyte>()),
            ScalarType.Byte => Address(t.storage<byte>()),
            ScalarType.Bool => Address(t.storage<bool>()),
            _ => null,
        };

        static IntPtr Address<T>(Storage<T> s) where T : unmanaged
        {
            using (s) return s.data_ptr();
        }
    }

    private static double Element(Tensor flatSource, long i)
    {
        using var scope = NewDisposeScope();
        return flatSource.reshape(-1)[i].to_type(ScalarType.Float64).item<double>();
    }

    private static string Index(long[] index) => "[" + string.Join(", ", index) + "]";
}

/// <summary>A snapshotted tensor that changed.</summary>
/// <param name="Name">Its name in the snapshot.</param>
/// <param name="Count">Elements that differ bitwise (all, when the shape or dtype changed; 0 when it was disposed).</param>
/// <param name="FirstIndex">The first element that differs, in row-major order; null when the shape or dtype changed or it was disposed.</param>
/// <param name="Before">That element before.</param>
/// <param name="After">That element now.</param>
/// <param name="Text">What changed, in words, e.g. <c>3 of 12 elements changed; first at [0, 2]: 0.5 → 0</c>.</param>
internal sealed record TensorChange(string Name, long Count, long[]? FirstIndex, double Before, double After, string Text);

/// <summary>A returned tensor that is (or shares storage with) a snapshotted one.</summary>
/// <param name="Output">The returned tensor's name.</param>
/// <param name="Input">The snapshotted tensor it aliases.</param>
/// <param name="SameHandle">The very same tensor handle; false when it is another tensor over the same storage (a view, detach, alias).</param>
internal sealed record TensorAlias(string Output, string Input, bool SameHandle);
