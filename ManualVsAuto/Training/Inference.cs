using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>After training: the lecture's batchnorm calibration, split loss and sampling, with the calibrated statistics.</summary>
public static class Inference
{
    /// <summary>
    /// The lecture's calibration: batchnorm's mean and unbiased variance of hprebn over the whole training set,
    /// so the net can run on one example at a time.
    /// </summary>
    public static BatchNormStats Calibrate(MlpParameters p, Examples train)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var emb = p.C.index_select(0, train.X.view(-1));
        var embcat = emb.view(train.Count, -1);
        var hpreact = p.b1.addmm(embcat, p.W1);
        var bnmean = hpreact.mean([0], keepdim: true);
        var bnvar = hpreact.var(0, unbiased: true, keepdim: true);
        return new BatchNormStats(StoredArray.From(bnmean), StoredArray.From(bnvar));
    }

    /// <summary>The logits with batchnorm using the calibrated statistics (the lecture's inference forward).</summary>
    public static Tensor Logits(MlpParameters p, Tensor bnmean, Tensor bnvar, Tensor X)
    {
        var embcat = p.C.index_select(0, X.reshape(-1)).view(X.size(0), -1);
        var hpreact = p.b1.addmm(embcat, p.W1);
        hpreact = p.bngain * (hpreact - bnmean) * (bnvar + ChunkedForward.BnEps).pow(-0.5) + p.bnbias;
        var h = tanh(hpreact);
        return p.b2.addmm(h, p.W2);
    }

    /// <summary>The lecture's <c>split_loss</c>: cross-entropy over a whole split with the calibrated batchnorm.</summary>
    public static double SplitLoss(MlpParameters p, BatchNormStats bn, Examples split)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var loss = F.cross_entropy(Logits(p, bn.Mean.ToTensor(), bn.Var.ToTensor(), split.X), split.Y);
        return loss.to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>A name is cut here: a badly trained net (say, a huge --lr) may never draw '.', and the lecture's loop would not end.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The lecture's sampling loop: start from '...', draw with <c>multinomial</c> until '.', which is kept
    /// (or until <see cref="MaxNameLength"/> characters). Names are yielded as they are made, so a large count streams.</summary>
    public static IEnumerable<string> Sample(MlpParameters p, BatchNormStats bn, int count, ulong seed, int blockSize = Dataset.LectureBlockSize)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var bnmean = bn.Mean.ToTensor();
        var bnvar = bn.Var.ToTensor();
        for (int i = 0; i < count; i++)
        {
            var context = new long[blockSize];
            var outName = new System.Text.StringBuilder();
            while (true)
            {
                using var step = NewDisposeScope();
                var logits = Logits(p, bnmean, bnvar, tensor(context, [1, blockSize]));
                var probs = F.softmax(logits, 1);
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
