using ManualVsAuto.Data;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// The lecture's minibatches (<see cref="Model.Minibatch.Draw"/>'s <c>randint(0, n, (batch_size,))</c> each step),
/// drawn <see cref="Chunk"/> steps at a time: libtorch's <c>randint</c> fills its output serially from the generator,
/// so one draw of k·batch_size indices is the k draws of batch_size one after another, for a fraction of the calls.
/// The batches go into two tensors made once (the step reads them and keeps nothing). <see cref="Sync"/> puts the
/// generator back where drawing step by step would have left it, for a checkpoint's <c>generator_state</c>.
/// </summary>
internal sealed class PredrawnBatches : IDisposable
{
    public const int Chunk = 1_000;

    private readonly Examples train;
    private readonly int batchSize;
    private readonly Generator g;
    private readonly long[] rows;
    private readonly Tensor Xb, Yb;
    private Tensor? chunkStart; // the generator's state before the chunk was drawn; null: nothing drawn ahead
    private int first, count;   // the chunk's first step and how many steps it holds

    public PredrawnBatches(Examples train, int batchSize, Generator g)
    {
        this.train = train;
        this.batchSize = batchSize;
        this.g = g;
        rows = new long[checked(Chunk * batchSize)];
        Xb = empty([batchSize, train.BlockSize], ScalarType.Int64).DetachFromDisposeScope();
        Yb = empty([batchSize], ScalarType.Int64).DetachFromDisposeScope();
    }

    /// <summary>Step <paramref name="step"/>'s minibatch; steps are taken in order (a <see cref="Sync"/> may come between).</summary>
    /// <param name="last">The run's step count: no draws past it.</param>
    public (Tensor Xb, Tensor Yb) Next(int step, int last)
    {
        if (chunkStart is null || step - first >= count) Draw(step, Math.Min(Chunk, last - step));
        train.GatherInto(rows.AsSpan((step - first) * batchSize, batchSize), Xb, Yb);
        return (Xb, Yb);
    }

    private void Draw(int step, int steps)
    {
        chunkStart?.Dispose();
        chunkStart = g.get_state().DetachFromDisposeScope();
        first = step;
        count = steps;
        using var ix = randint(0, train.Count, [steps * batchSize], generator: g);
        Model.Minibatch.Longs(ix).CopyTo(rows);
    }

    /// <summary>Leaves the generator as drawing one minibatch per step for the steps before <paramref name="step"/>
    /// would have: the drawn-ahead rest is dropped (and drawn again, the same, by the next <see cref="Next"/>).</summary>
    public void Sync(int step)
    {
        if (chunkStart is null) return;
        g.set_state(chunkStart);
        if (step > first)
        {
            using var consumed = randint(0, train.Count, [(long)(step - first) * batchSize], generator: g);
        }
        chunkStart.Dispose();
        chunkStart = null;
    }

    public void Dispose()
    {
        chunkStart?.Dispose();
        Xb.Dispose();
        Yb.Dispose();
    }
}
