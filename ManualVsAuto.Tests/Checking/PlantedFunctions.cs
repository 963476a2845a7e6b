using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// Custom autograd Functions for the rule test: a correct GELU, softplus, relu, sin-cos pair and matmul, and each
/// mistake a custom backward is known for, planted one at a time into an otherwise correct Function.
/// </summary>
internal static class Planted
{
    /// <summary>GELU(x) = x·Φ(x), Φ the standard normal CDF.</summary>
    public static Tensor Gelu(Tensor x) => 0.5 * x * (1 + (x / Math.Sqrt(2)).erf());

    /// <summary>GELU'(x) = Φ(x) + x·φ(x).</summary>
    public static Tensor GeluDerivative(Tensor x) =>
        0.5 * (1 + (x / Math.Sqrt(2)).erf()) + x * (-0.5 * x * x).exp() / Math.Sqrt(2 * Math.PI);

    private static Tensor Saved(autograd.AutogradContext ctx) => ctx.get_saved_variables()[0];

    private static Tensor SaveInput(autograd.AutogradContext ctx, object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        return x;
    }

    public sealed class GeluFn : autograd.SingleTensorFunction<GeluFn>
    {
        public override string Name => "Gelu";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output * GeluDerivative(Saved(ctx))];
    }

    public sealed class SoftplusFn : autograd.SingleTensorFunction<SoftplusFn>
    {
        public override string Name => "Softplus";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => F.softplus(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output * Saved(ctx).sigmoid()];
    }

    /// <summary>Returns the local derivative alone: right for grad_output = ones, wrong for any other.</summary>
    public sealed class GeluNotMultiplied : autograd.SingleTensorFunction<GeluNotMultiplied>
    {
        public override string Name => nameof(GeluNotMultiplied);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [GeluDerivative(Saved(ctx))];
    }

    /// <summary>Right gradient, but sigmoid_ overwrites the saved input.</summary>
    public sealed class SoftplusMutatesInput : autograd.SingleTensorFunction<SoftplusMutatesInput>
    {
        public override string Name => nameof(SoftplusMutatesInput);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => F.softplus(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output * Saved(ctx).sigmoid_()];
    }

    /// <summary>Right gradient, computed into the incoming gradient with mul_.</summary>
    public sealed class GeluMutatesGradOutput : autograd.SingleTensorFunction<GeluMutatesGradOutput>
    {
        public override string Name => nameof(GeluMutatesGradOutput);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output.mul_(GeluDerivative(Saved(ctx)))];
    }

    /// <summary>Keeps a running total in the instance: the first call is right, the next ones add to it.</summary>
    public sealed class GeluAccumulates : autograd.SingleTensorFunction<GeluAccumulates>
    {
        private Tensor? total;
        public override string Name => nameof(GeluAccumulates);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var g = grad_output * GeluDerivative(Saved(ctx));
            total = total is null ? g : total + g;
            return [total];
        }
    }

    /// <summary>Averages the local derivative over the batch: every row's gradient depends on the other rows.</summary>
    public sealed class GeluLeaksRows : autograd.SingleTensorFunction<GeluLeaksRows>
    {
        public override string Name => nameof(GeluLeaksRows);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) =>
            [grad_output * GeluDerivative(Saved(ctx)).mean([0], keepdim: true)];
    }

    /// <summary>Forgets the x·φ(x) term of GELU's derivative.</summary>
    public sealed class GeluWrongFormula : autograd.SingleTensorFunction<GeluWrongFormula>
    {
        public override string Name => nameof(GeluWrongFormula);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) =>
            [grad_output * 0.5 * (1 + (Saved(ctx) / Math.Sqrt(2)).erf())];
    }

    /// <summary>Returns the saved input itself as the gradient (values wrong too, unless grad_output is 1 and x is x).</summary>
    public sealed class ReturnsInput : autograd.SingleTensorFunction<ReturnsInput>
    {
        public override string Name => nameof(ReturnsInput);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => 0.5 * SaveInput(ctx, vars).pow(2);
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [Saved(ctx)];
    }

    public sealed class Throws : autograd.SingleTensorFunction<Throws>
    {
        public override string Name => nameof(Throws);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => Gelu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) =>
            throw new InvalidOperationException("backward not written yet");
    }

    /// <summary>relu with the subgradient 0 at 0.</summary>
    public sealed class ReluFn : autograd.SingleTensorFunction<ReluFn>
    {
        public override string Name => "Relu";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => F.relu(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output * Saved(ctx).gt(0).to_type(grad_output.dtype)];
    }

    /// <summary>Softplus whose backward detaches: first order right, second order zero.</summary>
    public sealed class SoftplusDetached : autograd.SingleTensorFunction<SoftplusDetached>
    {
        public override string Name => nameof(SoftplusDetached);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => F.softplus(SaveInput(ctx, vars));
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output) => [grad_output * Saved(ctx).detach().sigmoid()];
    }

    /// <summary>(sin x, cos x), asking for undefined incoming gradients and handling them.</summary>
    public sealed class SinCos : autograd.MultiTensorFunction<SinCos>
    {
        public override string Name => nameof(SinCos);
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.set_materialize_grads(false);
            var x = SaveInput(ctx, vars);
            return [x.sin(), x.cos()];
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var x = Saved(ctx);
            var dx = zeros_like(x);
            if (grad_outputs[0] is { IsInvalid: false } gs) dx = dx + gs * x.cos();
            if (grad_outputs[1] is { IsInvalid: false } gc) dx = dx - gc * x.sin();
            return [dx];
        }
    }

    /// <summary>The same, but its backward uses both incoming gradients without testing for undefined ones.</summary>
    public sealed class SinCosAssumesDefined : autograd.MultiTensorFunction<SinCosAssumesDefined>
    {
        public override string Name => nameof(SinCosAssumesDefined);
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.set_materialize_grads(false);
            var x = SaveInput(ctx, vars);
            return [x.sin(), x.cos()];
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var x = Saved(ctx);
            return [grad_outputs[0] * x.cos() - grad_outputs[1] * x.sin()];
        }
    }

    /// <summary>y = x·W: a batched input and a shared weight.</summary>
    public sealed class MatMul : autograd.SingleTensorFunction<MatMul>
    {
        public override string Name => nameof(MatMul);
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Tensor x = (Tensor)vars[0], w = (Tensor)vars[1];
            ctx.save_for_backward([x, w]);
            return x.mm(w);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var saved = ctx.get_saved_variables();
            Tensor x = saved[0], w = saved[1];
            return [grad_output.mm(w.t()), x.t().mm(grad_output)];
        }
    }
}
