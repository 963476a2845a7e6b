using ManualVsAuto.Checking;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using Parameter = TorchSharp.Modules.Parameter;
using SGD = TorchSharp.Modules.SGD;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// The fastest autograd step a TorchSharp user would write for the same net: the layers' function with composite ops
/// (<c>addmm</c> for a 2-D Linear, <c>var_mean</c> for batchnorm's Bessel-corrected statistics, <c>addcmul</c> for
/// gain·x̂ + bias, <c>F.cross_entropy</c>), <c>loss.backward()</c> and <c>optim.SGD</c>; the running statistics
/// move under <c>no_grad</c>. A timing reference only: it rounds differently from the layers' forward.
/// (<c>F.batch_norm</c> would be one call fewer but normalises with the biased variance: another function.)
/// </summary>
public sealed class CompositeAutogradTrainer : IModelTrainer
{
    private readonly Sequential model;
    private readonly SGD optimizer;
    private readonly optim.ILearningRateController group;

    public CompositeAutogradTrainer(Sequential model)
    {
        this.model = model;
        foreach (var p in model.Parameters) p.Value = new Parameter(p.Value.detach(), requires_grad: true);
        optimizer = optim.SGD(model.Parameters.Select(p => (Parameter)p.Value), 0.1);
        group = optimizer.ParamGroups.Single();
    }

    public BackwardKind Kind => BackwardKind.Autograd;

    public IReadOnlyList<(string Name, Tensor Tensor)> State => model.State;

    public long ParameterCount => model.Count;

    public Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var x = Xb;
        foreach (var layer in model.Layers) x = Forward(layer, x);
        var loss = F.cross_entropy(x, Yb);
        optimizer.zero_grad();
        loss.backward();
        group.LearningRate = lr;
        optimizer.step();
        return loss.detach();
    }

    private static Tensor Forward(Layer layer, Tensor x) => layer switch
    {
        Embedding e => e.Weight.Value.index(x),
        FlattenConsecutive f => Flatten(x, f.N),
        Linear { Bias: { } b } l when x.dim() == 2 => addmm(b.Value, x, l.Weight.Value, 1, 1),
        Linear { Bias: { } b } l => x.matmul(l.Weight.Value) + b.Value,
        Linear l => x.matmul(l.Weight.Value),
        BatchNorm1d bn => BatchNorm(bn, x),
        Tanh => x.tanh(),
        _ => throw new NotSupportedException(layer.Kind),
    };

    private static Tensor Flatten(Tensor x, int n)
    {
        var y = x.view(x.size(0), x.size(1) / n, x.size(2) * n);
        return y.size(1) == 1 ? y.squeeze(1) : y;
    }

    private static Tensor BatchNorm(BatchNorm1d bn, Tensor x)
    {
        long[] dims = x.dim() == 3 ? [0, 1] : [0];
        var (var, mean) = var_mean(x, dims, unbiased: true, keepdim: true);
        var xhat = (x - mean) * (var + bn.Eps).rsqrt();
        using (no_grad())
        {
            bn.RunningMean.mul_(1 - bn.Momentum).add_(mean.view(-1), alpha: bn.Momentum);
            bn.RunningVar.mul_(1 - bn.Momentum).add_(var.view(-1), alpha: bn.Momentum);
        }
        return addcmul(bn.Beta.Value, bn.Gamma.Value, xhat, 1);
    }

    public IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb) => throw new NotSupportedException("a timing reference");

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
    }
}
