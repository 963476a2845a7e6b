using System.Runtime.InteropServices;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Backward;

/// <summary>
/// Every tensor <see cref="LoopStep"/> reads or writes for one batch size, made once: the forward's intermediates
/// by the lecture's names, the backward's <c>d&lt;name&gt;</c>, the 7 parameter gradients, and the transposed views
/// the matmuls take. The step writes into them in place (libtorch's <c>addmm_</c> with beta 0 for the matmuls,
/// loops over <see cref="Floats"/> for the rest), so a step allocates nothing but its loss.
/// </summary>
public sealed class LoopStepState : IDisposable
{
    public LoopStepState(MlpParameters p, int n)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "the batch variance divides by n-1: n must be at least 2");
        foreach (var (name, t) in p.Named)
        {
            if (t.dtype != ScalarType.Float32 || !t.is_contiguous() || t.device_type != TorchSharp.DeviceType.CPU)
                throw new ArgumentException($"{name}: the manual step needs contiguous float32 CPU parameters");
        }
        N = n;
        NEmbd = (int)p.C.size(1);
        BlockSize = (int)(p.W1.size(0) / NEmbd);
        NHidden = (int)p.W1.size(1);
        VocabSize = (int)p.W2.size(1);
        using var scope = NewDisposeScope();
        Tensor Zeros(params long[] shape) => zeros(shape, ScalarType.Float32);
        embcat = Zeros(n, BlockSize * NEmbd);
        hprebn = Zeros(n, NHidden);
        bnmeani = Zeros(NHidden);
        bnvar = Zeros(NHidden);
        bnvar_inv = Zeros(NHidden);
        bnraw = Zeros(n, NHidden);
        h = Zeros(n, NHidden);
        logits = Zeros(n, VocabSize);
        dlogits = Zeros(n, VocabSize);
        dh = Zeros(n, NHidden);
        dhpreact = Zeros(n, NHidden);
        dhprebn = Zeros(n, NHidden);
        dembcat = Zeros(n, BlockSize * NEmbd);
        Grads = p.Map(t => zeros_like(t));
        bnScale = new float[NHidden];
        bnMinusBias = new float[NHidden];
        bnMinusGain = new float[NHidden];
        embcatT = embcat.t();
        hT = h.t();
        W1T = p.W1.t(); // views: they follow the in-place updates of W1 and W2
        W2T = p.W2.t();
        foreach (var t in All.Concat(Grads.All)) t.DetachFromDisposeScope();
        Parameters = new MlpMemory(p);
        GradMemory = new MlpMemory(Grads);
        F = new Memory(this);
    }

    /// <summary>The parameters this state was made for: the step reads their memory, taken here.</summary>
    internal MlpMemory Parameters { get; }
    internal MlpMemory GradMemory { get; }

    /// <summary>The intermediates' memory, by the lecture's names.</summary>
    internal Memory F { get; }

    internal sealed class Memory(LoopStepState s)
    {
        private readonly FloatMemory Embcat = new(s.embcat), Hprebn = new(s.hprebn), Bnmeani = new(s.bnmeani), Bnvar = new(s.bnvar),
            Bnvar_inv = new(s.bnvar_inv), Bnraw = new(s.bnraw), H = new(s.h), Logits = new(s.logits), Dlogits = new(s.dlogits),
            Dh = new(s.dh), Dhpreact = new(s.dhpreact), Dhprebn = new(s.dhprebn), Dembcat = new(s.dembcat);

        public Span<float> embcat => Embcat.Span;
        public Span<float> hprebn => Hprebn.Span;
        public Span<float> bnmeani => Bnmeani.Span;
        public Span<float> bnvar => Bnvar.Span;
        public Span<float> bnvar_inv => Bnvar_inv.Span;
        public Span<float> bnraw => Bnraw.Span;
        public Span<float> h => H.Span;
        public Span<float> logits => Logits.Span;
        public Span<float> dlogits => Dlogits.Span;
        public Span<float> dh => Dh.Span;
        public Span<float> dhpreact => Dhpreact.Span;
        public Span<float> dhprebn => Dhprebn.Span;
        public Span<float> dembcat => Dembcat.Span;
    }

    public int N { get; }
    public int NEmbd { get; }
    public int BlockSize { get; }
    public int NHidden { get; }
    public int VocabSize { get; }

    public Tensor embcat { get; }
    public Tensor hprebn { get; }
    public Tensor bnmeani { get; }
    public Tensor bnvar { get; }
    public Tensor bnvar_inv { get; }
    public Tensor bnraw { get; }
    public Tensor h { get; }
    public Tensor logits { get; }
    public Tensor dlogits { get; }
    public Tensor dh { get; }
    public Tensor dhpreact { get; }
    public Tensor dhprebn { get; }
    public Tensor dembcat { get; }
    public Tensor embcatT { get; }
    public Tensor hT { get; }
    public Tensor W1T { get; }
    public Tensor W2T { get; }

    /// <summary>The parameter gradients of the last backward (dC, dW1, db1, dW2, db2, dbngain, dbnbias).</summary>
    public MlpParameters Grads { get; }

    /// <summary>The fused batchnorm backward's per-column terms (bngain·bnvar_inv/n, −Σ dhpreact, −n/(n−1)·dbngain):
    /// made once, off the stack, which a wide layer's would overflow.</summary>
    internal float[] bnScale { get; }
    internal float[] bnMinusBias { get; }
    internal float[] bnMinusGain { get; }

    /// <summary>A contiguous float32 CPU tensor's memory (libtorch keeps it in place across in-place ops).</summary>
    public static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    private Tensor[] All =>
    [
        embcat, hprebn, bnmeani, bnvar, bnvar_inv, bnraw, h, logits, dlogits, dh, dhpreact, dhprebn, dembcat,
        embcatT, hT, W1T, W2T,
    ];

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
        foreach (var t in Grads.All) t.Dispose();
    }
}
