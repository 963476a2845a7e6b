using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>After training: the lecture's batchnorm calibration, split loss and sampling, with the calibrated statistics.</summary>
public static class Inference
{
    /// <summary>Calibration and evaluation run over this many examples at a time, so memory is bounded by it, not by the data.</summary>
    public const int ChunkSize = 4096;

    /// <summary>
    /// The lecture's calibration: batchnorm's mean and unbiased variance of hpreact (= embcat @ W1 + b1) over the
    /// whole training set, so the net can run on one example at a time. Chunk by chunk in float64, each chunk's
    /// mean and sum of squared deviations merged into the running ones (Chan et al.'s parallel variance).
    /// </summary>
    public static BatchNormStats Calibrate(MlpParameters p, Examples train)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var bnmean = zeros([1, p.W1.size(1)], ScalarType.Float64);
        var m2 = zeros([1, p.W1.size(1)], ScalarType.Float64); // Σ (hpreact − bnmean)²
        long count = 0;
        foreach (var (X, _) in Chunks(train))
        {
            long n = X.size(0);
            var hpreact = HPreact(p, X).to_type(ScalarType.Float64);
            var mean = hpreact.mean([0], keepdim: true);
            var delta = mean - bnmean;
            long total = count + n;
            m2.add_(hpreact.sub(mean).square().sum(0, keepdim: true)).add_(delta.square(), (double)count * n / total);
            bnmean.add_(delta, (double)n / total);
            count = total;
        }
        return new BatchNormStats(StoredArray.From(bnmean), StoredArray.From(m2 / (count - 1)));
    }

    /// <summary>The examples in chunks of <see cref="ChunkSize"/>, each in its own dispose scope (ended when the next one is made).</summary>
    private static IEnumerable<(Tensor X, Tensor Y)> Chunks(Examples split)
    {
        for (long start = 0; start < split.Count; start += ChunkSize)
        {
            using var scope = NewDisposeScope();
            yield return split.Slice(start, (int)Math.Min(ChunkSize, split.Count - start));
        }
    }

    private static Tensor HPreact(MlpParameters p, Tensor X) =>
        p.b1.addmm(p.C.index_select(0, X.reshape(-1)).view(X.size(0), -1), p.W1);

    /// <summary>The logits with batchnorm using the calibrated statistics (the lecture's inference forward).</summary>
    public static Tensor Logits(MlpParameters p, Tensor bnmean, Tensor bnvar, Tensor X)
    {
        var hpreact = HPreact(p, X);
        hpreact = p.bngain * (hpreact - bnmean) * (bnvar + ChunkedForward.BnEps).pow(-0.5) + p.bnbias;
        var h = tanh(hpreact);
        return p.b2.addmm(h, p.W2);
    }

    /// <summary>The lecture's <c>split_loss</c>: cross-entropy over a whole split with the calibrated batchnorm,
    /// summed chunk by chunk in float64.</summary>
    public static double SplitLoss(MlpParameters p, BatchNormStats bn, Examples split)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var bnmean = bn.Mean.ToTensor();
        var bnvar = bn.Var.ToTensor();
        double sum = 0;
        foreach (var (X, Y) in Chunks(split))
            sum += F.cross_entropy(Logits(p, bnmean, bnvar, X), Y, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64).item<double>();
        return sum / split.Count;
    }

    /// <summary>A name is cut here: a badly trained net (say, a huge --lr) may never draw '.', and the lecture's loop would not end.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The lecture's sampling loop: start from '...', draw with <c>multinomial</c> until '.', which is kept
    /// (or until <see cref="MaxNameLength"/> characters). Names are yielded as they are made, so a large count streams.</summary>
    public static IEnumerable<string> Sample(MlpParameters p, BatchNormStats bn, int count, ulong seed, int blockSize = Dataset.LectureBlockSize)
    {
        using var scope = NewDisposeScope();
        var bnmean = bn.Mean.ToTensor();
        var bnvar = bn.Var.ToTensor();
        foreach (var name in Sample(X => Logits(p, bnmean, bnvar, X), count, seed, blockSize)) yield return name;
    }

    /// <summary>The same sampling loop for any net: <paramref name="logits"/> maps (1, block_size) contexts to (1, 27) logits.</summary>
    public static IEnumerable<string> Sample(Func<Tensor, Tensor> logits, int count, ulong seed, int blockSize)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        for (int i = 0; i < count; i++)
        {
            var context = new long[blockSize];
            var outName = new System.Text.StringBuilder();
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
            yield return outName.ToString();
        }
    }
}
