using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>After training: the lecture's batchnorm calibration of the MLP, and the sampling loop of both nets.</summary>
public static class Inference
{
    /// <summary>
    /// The lecture's calibration: batchnorm's mean and unbiased variance of its input hprebn (the MLP's layers before
    /// it, <see cref="Mlp.HPrebn"/>) over the whole training set, so the net can run on one example at a time. Chunk by
    /// chunk: each chunk's mean and sum of squared deviations, merged into the running ones in float64 (Chan et al.'s
    /// parallel variance). The statistics are written into the batchnorm layer's running mean and variance (its eval
    /// mode) and returned for the checkpoint.
    /// </summary>
    public static BatchNormStats Calibrate(Mlp net, Examples train)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long nHidden = net.BatchNorm.RunningMean.size(0);
        var bnmean = zeros([1, nHidden], ScalarType.Float64);
        var m2 = zeros([1, nHidden], ScalarType.Float64); // Σ (hprebn − bnmean)²
        long count = 0;
        foreach (var (X, _) in Chunks(train))
        {
            long n = X.size(0);
            var hprebn = net.HPrebn(X, ForwardMode.Eval);
            var mean = hprebn.mean([0], keepdim: true);
            var bndiff = hprebn.sub_(mean); // in place: no (n, n_hidden) temporaries
            var chunkM2 = bndiff.mul_(bndiff).sum(0, keepdim: true).to_type(ScalarType.Float64);
            var delta = mean.to_type(ScalarType.Float64) - bnmean;
            long total = count + n;
            m2.add_(chunkM2).add_(delta.square(), (double)count * n / total);
            bnmean.add_(delta, (double)n / total);
            count = total;
        }
        var stats = new BatchNormStats(StoredArray.From(bnmean), StoredArray.From(m2 / (count - 1)));
        LoadStatistics(net, stats);
        return stats;
    }

    /// <summary>Puts calibrated statistics (a checkpoint's, each (1, n_hidden)) into the batchnorm layer's running mean and variance.</summary>
    public static void LoadStatistics(Mlp net, BatchNormStats stats)
    {
        using var _ = no_grad();
        using var mean = stats.Mean.ToTensor();
        using var var = stats.Var.ToTensor();
        net.BatchNorm.RunningMean.copy_(mean.view(-1));
        net.BatchNorm.RunningVar.copy_(var.view(-1));
    }

    /// <summary>The examples in chunks of <see cref="LayerInference.Chunk"/>, each in its own dispose scope (ended when
    /// the next one is made), the freed memory given back to the system every <see cref="LayerInference.TrimEvery"/> chunks.</summary>
    internal static IEnumerable<(Tensor X, Tensor Y)> Chunks(Examples split)
    {
        long chunks = 0;
        for (long start = 0; start < split.Count; start += LayerInference.Chunk)
        {
            StopSignals.ThrowIfStopping();
            using (var scope = NewDisposeScope())
                yield return split.Slice(start, (int)Math.Min(LayerInference.Chunk, split.Count - start));
            if (++chunks % LayerInference.TrimEvery == 0) ProcessMemory.TrimNativeHeap();
        }
    }

    /// <summary>A name is cut here: a badly trained net (say, a huge --lr) may never draw '.', and the lecture's loop would not end.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The lecture's sampling loop: start from '...', draw with <c>multinomial</c> until '.', which is kept
    /// (or until <see cref="MaxNameLength"/> characters). Names are yielded as they are made, so a large count streams.
    /// <paramref name="logits"/> maps (1, block_size) contexts to (1, 27) logits.</summary>
    public static IEnumerable<string> Sample(Func<Tensor, Tensor> logits, int count, ulong seed, int blockSize)
    {
        using var g = new Generator(seed);
        for (int i = 0; i < count; i++)
        {
            StopSignals.ThrowIfStopping();
            var context = new long[blockSize];
            var outName = new System.Text.StringBuilder();
            // no_grad and dispose scopes are per thread: they must not stay open across a yield, where the caller runs
            // (or another of these loops, e.g. two compared side by side).
            using (no_grad())
            {
                while (true)
                {
                    using var step = NewDisposeScope();
                    var probs = F.softmax(logits(tensor(context, [1, blockSize])), 1);
                    int ix = (int)multinomial(probs, 1, generator: g).item<long>();
                    Array.Copy(context, 1, context, 0, blockSize - 1);
                    context[blockSize - 1] = ix;
                    outName.Append(Vocabulary.ToChar(ix));
                    if (ix == 0 || outName.Length >= MaxNameLength) break;
                }
            }
            yield return outName.ToString();
        }
    }
}
