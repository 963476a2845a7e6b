using TorchSharp;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The Function under <see cref="FunctionCheck"/>: a forward that can be run afresh (a new instance and context each
/// time, so state one check leaves behind does not reach the next) and, for each run, its backward to call directly.
/// </summary>
internal abstract class FunctionSubject
{
    public abstract string Name { get; }

    /// <summary>Whether the Function has a context that can ask for undefined incoming gradients (a Function subclass).</summary>
    public abstract bool HasContext { get; }

    /// <summary>Runs the forward on <paramref name="inputs"/> (leaves that require grad) with grad enabled.</summary>
    public abstract FunctionRun Forward(Tensor[] inputs);

    /// <summary>The forward's outputs alone, for finite differences; called under no_grad.</summary>
    public abstract Tensor[] Evaluate(IReadOnlyList<Tensor> inputs);
}

/// <summary>One forward of the Function under test, with its backward bound to that forward's context.</summary>
internal sealed class FunctionRun
{
    public required Tensor[] Inputs { get; init; }
    public required Tensor[] Outputs { get; init; }

    /// <summary>What the forward saved for the backward (a subclass's <c>save_for_backward</c>), in order.</summary>
    public required IReadOnlyList<Tensor> Saved { get; init; }

    /// <summary>Calls the user's backward directly from C#, not from TorchSharp's native callback, so an exception is catchable.</summary>
    public required Func<Tensor[], IReadOnlyList<Tensor?>> Backward { get; init; }

    /// <summary>The forward left <c>set_materialize_grads</c> at true (always, without a context).</summary>
    public bool MaterializeGrads { get; init; } = true;

    /// <summary>The probe's record of a backward run by autograd (subclass form only).</summary>
    public RuleProbe.Hooks? Hooks { get; init; }
}

/// <summary>A <c>SingleTensorFunction</c> or <c>MultiTensorFunction</c> subclass, run through <see cref="RuleProbe"/>.</summary>
internal sealed class ClassSubject(
    string name,
    Func<(RuleProbe.ForwardCall Forward, RuleProbe.BackwardCall Backward)> create,
    object[] args) : FunctionSubject
{
    private (RuleProbe.ForwardCall Forward, autograd.AutogradContext Context)? scratch;

    public override string Name => name;

    public override bool HasContext => true;

    public override FunctionRun Forward(Tensor[] inputs)
    {
        var (forward, backward) = create();
        var hooks = new RuleProbe.Hooks(forward, backward, inputs);
        List<Tensor> outputs;
        using (enable_grad()) outputs = RuleProbe.Run(hooks, [.. inputs, .. args]);
        var ctx = hooks.Context!;
        var saved = ctx.get_saved_variables().Where(t => t is not null && !t.IsInvalid).ToList();
        return new FunctionRun
        {
            Inputs = inputs,
            Outputs = outputs.ToArray(),
            Saved = saved,
            Backward = g => backward(ctx, g.ToList()),
            MaterializeGrads = ctx.MaterializeGrads,
            Hooks = hooks,
        };
    }

    public override Tensor[] Evaluate(IReadOnlyList<Tensor> inputs)
    {
        // One instance and context for every evaluation: the forward only stores into the context, and a new
        // native node per evaluation would cost more than many small forwards.
        if (scratch is null)
        {
            var (forward, backward) = create();
            var hooks = new RuleProbe.Hooks(forward, backward, inputs.ToArray());
            using (no_grad()) RuleProbe.Run(hooks, [.. inputs, .. args]);
            scratch = (forward, hooks.Context!);
        }
        var (f, ctx) = scratch.Value;
        return f(ctx, [.. inputs, .. args]).ToArray();
    }
}

/// <summary>A forward and a hand-written backward given as delegates.</summary>
internal sealed class DelegateSubject(string name, Func<Tensor[], Tensor[]> forward, FunctionCheck.Backward backward) : FunctionSubject
{
    public override string Name => name;

    public override bool HasContext => false;

    public override FunctionRun Forward(Tensor[] inputs)
    {
        Tensor[] outputs;
        using (enable_grad()) outputs = forward(inputs) ?? throw new InvalidOperationException("the forward returned null");
        return new FunctionRun { Inputs = inputs, Outputs = outputs, Saved = [], Backward = g => backward(inputs, outputs, g) };
    }

    public override Tensor[] Evaluate(IReadOnlyList<Tensor> inputs) => forward(inputs.ToArray());
}

/// <summary>
/// The checker's own Function: its forward hands the user's forward this node's context (so what the user saves is
/// saved here, and <c>set_materialize_grads</c> applies here), and its backward, when autograd calls it, runs the
/// user's backward inside a catch: an exception leaving a backward called from TorchSharp's native callback ends the
/// process on Linux, so none leaves this one.
/// </summary>
internal sealed class RuleProbe : autograd.MultiTensorFunction<RuleProbe>
{
    public delegate List<Tensor> ForwardCall(autograd.AutogradContext ctx, object[] vars);

    public delegate List<Tensor> BackwardCall(autograd.AutogradContext ctx, List<Tensor> gradOutputs);

    /// <summary>One run's user functions, its context once the forward ran, and what a backward run by autograd threw.</summary>
    internal sealed class Hooks(ForwardCall forward, BackwardCall backward, Tensor[] inputs)
    {
        public ForwardCall Forward { get; } = forward;
        public BackwardCall Backward { get; } = backward;
        public autograd.AutogradContext? Context { get; set; }
        public Exception? Error { get; set; }
        public int VarCount { get; set; }
        public long[][] Shapes { get; } = inputs.Select(t => t.shape.ToArray()).ToArray();
        public ScalarType[] Dtypes { get; } = inputs.Select(t => t.dtype).ToArray();
    }

    private const string Key = "ManualVsAuto.FunctionCheck";

    [ThreadStatic] private static Hooks? pending;

    public override string Name => "FunctionCheck";

    /// <summary>Applies the probe with <paramref name="hooks"/>' forward; the forward runs on this thread, inside apply.</summary>
    public static List<Tensor> Run(Hooks hooks, object[] vars)
    {
        pending = hooks;
        try
        {
            return apply(vars);
        }
        finally
        {
            pending = null;
        }
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hooks = pending ?? throw new InvalidOperationException("RuleProbe is applied only by FunctionCheck.");
        hooks.Context = ctx;
        hooks.VarCount = vars.Length;
        ctx.save_data(Key, hooks);
        return hooks.Forward(ctx, vars) ?? throw new InvalidOperationException("the forward returned null");
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var hooks = (Hooks)ctx.get_data(Key);
        int n = hooks.Shapes.Length;
        try
        {
            var grads = hooks.Backward(ctx, grad_outputs) ?? throw new InvalidOperationException("the backward returned null");
            if (grads.Count < n) throw new InvalidOperationException($"the backward returned {grads.Count} gradients for {n} inputs");
            var result = new List<Tensor>();
            for (int j = 0; j < n; j++)
            {
                var g = grads[j];
                if (g is not null && !g.IsInvalid && !g.shape.SequenceEqual(hooks.Shapes[j]))
                    throw new InvalidOperationException($"the backward returned a gradient of shape {Cmp.Shape(g.shape)} for input {j} of shape {Cmp.Shape(hooks.Shapes[j])}");
                result.Add(g!);
            }
            // TorchSharp wants one entry per argument of apply; non-tensor arguments get none.
            for (int j = n; j < hooks.VarCount; j++) result.Add(null!);
            return result;
        }
        catch (Exception e)
        {
            hooks.Error = e;
            var result = hooks.Shapes.Select((s, j) => zeros(s, hooks.Dtypes[j])).ToList();
            for (int j = n; j < hooks.VarCount; j++) result.Add(null!);
            return result;
        }
    }
}
