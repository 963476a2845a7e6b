using TorchSharp;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>Settings of <see cref="FunctionCheck"/>; every check but second order runs by default.</summary>
public sealed record FunctionCheckOptions
{
    /// <summary>Seeds the random cotangents (incoming gradients) and the finite-difference sample.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// The finite-difference check: full mode, gradcheck's eps and tolerances, kinks excused
    /// (<see cref="FiniteDifferenceOptions.ExcuseKinks"/>, at most 10% of an input's elements), and every element of an
    /// input of up to <see cref="DefaultMaxElementsPerInput"/> elements, a seeded sample of that many beyond. Each
    /// element costs two forwards; a mistake confined to a few elements of a larger input can escape the sample, so
    /// raise <see cref="FiniteDifferenceOptions.MaxElementsPerInput"/> or give a <see cref="Reference"/> (which compares every element).
    /// </summary>
    public FiniteDifferenceOptions FiniteDifferences { get; init; } = new() { ExcuseKinks = true, MaxElementsPerInput = DefaultMaxElementsPerInput };

    /// <summary>Elements per input checked by finite differences unless told: all of a 32×32 input, a sample of a larger one.</summary>
    public const int DefaultMaxElementsPerInput = 1024;

    /// <summary>
    /// A forward written with autograd's own ops, as a second oracle: the backward is also compared with its
    /// autograd gradients (and the forwards with each other) within <see cref="ReferenceTolerance"/>.
    /// </summary>
    public Func<Tensor[], Tensor[]>? Reference { get; init; }

    /// <summary>How close to the reference's autograd the backward must be, in float64. Default allclose rtol 1e-7, atol 1e-10.</summary>
    public Tolerance ReferenceTolerance { get; init; } = new(1e-7, 1e-10);

    /// <summary>
    /// The inputs whose dim 0 is the batch (every output's dim 0 must be too). Then each example is run alone and its
    /// gradient must equal its row of the batched gradient; an input not listed (a weight) must get the sum of the
    /// examples' gradients. Null: no batch check.
    /// </summary>
    public IReadOnlyList<string>? BatchedInputs { get; init; }

    /// <summary>How close an example's gradient alone must be to its row in the batch. Default 1e-10 + 1e-7·max|batched|.</summary>
    public Tolerance BatchTolerance { get; init; } = new(1e-7, 1e-10, RelativeToLargest: true);

    /// <summary>The largest |difference| between two calls of the backward that passes (PyTorch's nondet_tol). Default 0: bitwise.</summary>
    public double NondeterminismTolerance { get; init; }

    /// <summary>
    /// Also check the backward's own gradient: autograd through the backward (called with grad enabled) against
    /// finite differences of the backward. Costs about twice the finite-difference check. Off by default.
    /// </summary>
    public bool SecondOrder { get; init; }

    /// <summary>Non-tensor arguments passed to a Function subclass's forward after the tensors (e.g. a slope).</summary>
    public object[] Args { get; init; } = [];

    /// <summary>The outputs' names in messages; default <c>y</c> for one output, <c>y0</c>, <c>y1</c>, … for several.</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }
}

/// <summary>
/// Rule tests for custom autograd Functions (ChainRulesTestUtils' <c>test_rrule</c>, PyTorch's gradcheck for a
/// Function): one call checks a <c>SingleTensorFunction</c>/<c>MultiTensorFunction</c> subclass, or a forward and
/// a hand-written backward given as delegates, against every <see cref="FunctionRule"/>. Everything runs in float64
/// on copies of the inputs; the caller's tensors are never modified.
/// </summary>
/// <remarks>
/// The user's backward is called directly from C# on a context of the checker's own Function, not by autograd, so an
/// exception in it is a failing <see cref="FunctionRule.Runs"/> row, not the end of the process (an exception that
/// leaves a backward called from TorchSharp's native callback ends it on Linux). The one check that needs autograd to
/// call the backward (undefined incoming gradients) goes through the checker's Function, whose backward catches.
/// Each check runs on a fresh forward with a new instance of the Function, so state kept in the instance between
/// calls shows in <see cref="FunctionRule.Repeat"/> alone (state in a static field reaches every check after the first).
/// A native abort inside libtorch (a shape error in <c>matmul</c>) cannot be caught by any of this.
/// </remarks>
public static class FunctionCheck
{
    /// <summary>A hand-written backward: the gradients of the inputs from the inputs, the outputs and the outputs' gradients; null for no gradient (zeros).</summary>
    public delegate IReadOnlyList<Tensor?> Backward(Tensor[] inputs, Tensor[] outputs, Tensor[] gradOutputs);

    /// <summary>Checks a <c>SingleTensorFunction</c> of one tensor, named <c>x</c>.</summary>
    public static FunctionCheckResult Single<TFunction>(Tensor input, FunctionCheckOptions? options = null)
        where TFunction : autograd.SingleTensorFunction<TFunction>, new() =>
        Single<TFunction>([("x", input)], options);

    /// <summary>Checks a <c>SingleTensorFunction</c> on the named inputs, passed to its forward in this order.</summary>
    public static FunctionCheckResult Single<TFunction>(IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions? options = null)
        where TFunction : autograd.SingleTensorFunction<TFunction>, new()
    {
        var o = options ?? new FunctionCheckOptions();
        return Run(new ClassSubject(new TFunction().Name, () =>
        {
            var f = new TFunction();
            return ((ctx, vars) => [f.forward(ctx, vars)], (ctx, g) => f.backward(ctx, g[0]));
        }, o.Args), inputs, o);
    }

    /// <summary>Checks a <c>MultiTensorFunction</c> of one tensor, named <c>x</c>.</summary>
    public static FunctionCheckResult Multi<TFunction>(Tensor input, FunctionCheckOptions? options = null)
        where TFunction : autograd.MultiTensorFunction<TFunction>, new() =>
        Multi<TFunction>([("x", input)], options);

    /// <summary>Checks a <c>MultiTensorFunction</c> on the named inputs, passed to its forward in this order.</summary>
    public static FunctionCheckResult Multi<TFunction>(IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions? options = null)
        where TFunction : autograd.MultiTensorFunction<TFunction>, new()
    {
        var o = options ?? new FunctionCheckOptions();
        return Run(new ClassSubject(new TFunction().Name, () =>
        {
            var f = new TFunction();
            return ((ctx, vars) => f.forward(ctx, vars), (ctx, g) => f.backward(ctx, g));
        }, o.Args), inputs, o);
    }

    /// <summary>Checks a forward and its hand-written backward given as delegates (no context: nothing is saved but what the closures keep).</summary>
    public static FunctionCheckResult Of(
        string name, Func<Tensor[], Tensor[]> forward, Backward backward,
        IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(backward);
        var o = options ?? new FunctionCheckOptions();
        if (o.Args.Length > 0) throw new GradientCheckException("Args are for a Function subclass's forward; a delegate keeps its own.");
        return Run(new DelegateSubject(name, forward, backward), inputs, o);
    }

    private static FunctionCheckResult Run(FunctionSubject subject, IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions o)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        Validate(inputs, o);
        using var scope = NewDisposeScope();
        var test = new RuleTest(subject, inputs, o);
        test.RunAll();
        return new FunctionCheckResult(subject.Name, test.Rows, test.Skipped);
    }

    private static void Validate(IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions o)
    {
        if (inputs.Count == 0) throw new GradientCheckException("The Function needs at least one input.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, x) in inputs)
        {
            if (string.IsNullOrEmpty(name)) throw new GradientCheckException("An input has no name.");
            if (!names.Add(name)) throw new GradientCheckException($"Input '{name}' is given twice.");
            if (x is null || x.IsInvalid) throw new GradientCheckException($"Input '{name}' is null or disposed.");
            if (!x.is_floating_point())
                throw new GradientCheckException($"Input '{name}' is {x.dtype}: the rule test needs floating inputs (pass integer ones through Args or a closure).");
        }
        foreach (var a in o.Args)
            if (a is Tensor) throw new GradientCheckException("Args are non-tensor arguments; pass every tensor as an input.");
        if (o.BatchedInputs is { } batched)
        {
            if (batched.Count == 0) throw new GradientCheckException("BatchedInputs is empty: name the inputs whose dim 0 is the batch, or leave it null.");
            long? b = null;
            foreach (var name in batched)
            {
                var found = inputs.FirstOrDefault(i => i.Name == name);
                if (found.Value is null)
                    throw new GradientCheckException($"BatchedInputs names '{name}', which is no input; the inputs are: {string.Join(", ", names)}.");
                if (found.Value.dim() == 0) throw new GradientCheckException($"'{name}' is a scalar: it has no batch dim.");
                long size = found.Value.shape[0];
                if (b is { } first && first != size)
                    throw new GradientCheckException($"'{name}' has {size} rows but the first batched input has {first}: batched inputs share dim 0.");
                b = size;
            }
        }
        o.FiniteDifferences.Validate();
        if (!(o.NondeterminismTolerance >= 0)) throw new GradientCheckException("NondeterminismTolerance must be ≥ 0.");
    }
}
