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
    /// whole training set, so the net can run on one example at a time. Chunk by chunk: each chunk's mean and sum
    /// of squared deviations, merged into the running ones in float64 (Chan et al.'s parallel variance).
    /// </summary>
    public static BatchNormStats Calibrate(MlpParameters p, Examples train)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var net = new CalibratedForward(p, null, ChunkSize);
        var bnmean = zeros([1, p.W1.size(1)], ScalarType.Float64);
        var m2 = zeros([1, p.W1.size(1)], ScalarType.Float64); // Σ (hpreact − bnmean)²
        long count = 0;
        foreach (var (X, _) in Chunks(train))
        {
            long n = X.size(0);
            var hpreact = net.HPreact(X);
            var mean = hpreact.mean([0], keepdim: true);
            var bndiff = hpreact.sub_(mean); // in place: no (n, n_hidden) temporaries
            var chunkM2 = bndiff.mul_(bndiff).sum(0, keepdim: true).to_type(ScalarType.Float64);
            var delta = mean.to_type(ScalarType.Float64) - bnmean;
            long total = count + n;
            m2.add_(chunkM2).add_(delta.square(), (double)count * n / total);
            bnmean.add_(delta, (double)n / total);
            count = total;
        }
        return new BatchNormStats(StoredArray.From(bnmean), StoredArray.From(m2 / (count - 1)));
    }

    /// <summary>The lecture's <c>split_loss</c>: cross-entropy over a whole split with the calibrated batchnorm,
    /// summed chunk by chunk in float64.</summary>
    public static double SplitLoss(MlpParameters p, BatchNormStats bn, Examples split)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var net = new CalibratedForward(p, bn, ChunkSize);
        double sum = 0;
        foreach (var (X, Y) in Chunks(split))
            sum += F.cross_entropy(net.Logits(X), Y, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64).item<double>();
        return sum / split.Count;
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

    /// <summary>
    /// The lecture's inference forward — <c>hpreact = embcat @ W1 + b1</c>, batchnorm with the calibrated statistics,
    /// tanh, <c>logits = h @ W2 + b2</c> — for up to <c>rows</c> examples at a time, into buffers made once and
    /// overwritten in place: libtorch's CPU allocator (posix_memalign) under glibc does not reliably reuse freed
    /// multi-MiB blocks, so fresh (rows, n_hidden) temporaries per chunk grew the heap by hundreds of MiB per pass.
    /// </summary>
    private sealed class CalibratedForward : IDisposable
    {
        private readonly MlpParameters p;
        private readonly Tensor embcat, hpreact, logits;
        private readonly Tensor? bnmean, bnvar_rsqrt;

        public CalibratedForward(MlpParameters p, BatchNormStats? bn, int rows)
        {
            this.p = p;
            using var scope = NewDisposeScope();
            embcat = empty([rows, p.W1.size(0)], p.W1.dtype);
            hpreact = empty([rows, p.W1.size(1)], p.W1.dtype);
            logits = empty([rows, p.W2.size(1)], p.W2.dtype);
            if (bn is not null)
            {
                bnmean = bn.Mean.ToTensor();
                bnvar_rsqrt = (bn.Var.ToTensor() + ChunkedForward.BnEps).pow(-0.5);
            }
            foreach (var t in new[] { embcat, hpreact, logits, bnmean, bnvar_rsqrt }) t?.DetachFromDisposeScope();
        }

        /// <summary>hpreact = embcat @ W1 + b1 for the examples X, as a view of the buffer.</summary>
        public Tensor HPreact(Tensor X)
        {
            long n = X.size(0);
            var e = embcat.narrow(0, 0, n);
            e.view(-1, p.C.size(1)).copy_(p.C.index_select(0, X.reshape(-1))); // emb = C[X]
            var hp = hpreact.narrow(0, 0, n);
            return hp.copy_(p.b1.expand_as(hp)).addmm_(e, p.W1); // = b1.addmm(embcat, W1)
        }

        /// <summary>The logits for the examples X with the calibrated batchnorm, as a view of the buffer (valid until the next call).</summary>
        public Tensor Logits(Tensor X)
        {
            var h = HPreact(X).sub_(bnmean!).mul_(p.bngain).mul_(bnvar_rsqrt!).add_(p.bnbias).tanh_(); // bngain * (hpreact - bnmean) * (bnvar + eps)**-0.5 + bnbias
            var lg = logits.narrow(0, 0, h.size(0));
            return lg.copy_(p.b2.expand_as(lg)).addmm_(h, p.W2); // = b2.addmm(h, W2)
        }

        public void Dispose()
        {
            foreach (var t in new[] { embcat, hpreact, logits, bnmean, bnvar_rsqrt }) t?.Dispose();
        }
    }

    /// <summary>A name is cut here: a badly trained net (say, a huge --lr) may never draw '.', and the lecture's loop would not end.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The lecture's sampling loop: start from '...', draw with <c>multinomial</c> until '.', which is kept
    /// (or until <see cref="MaxNameLength"/> characters). Names are yielded as they are made, so a large count streams.</summary>
    public static IEnumerable<string> Sample(MlpParameters p, BatchNormStats bn, int count, ulong seed, int blockSize = Dataset.LectureBlockSize)
    {
        using var net = new CalibratedForward(p, bn, rows: 1);
        foreach (var name in Sample(net.Logits, count, seed, blockSize)) yield return name;
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
