using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// What a <see cref="GradientCheck"/> holds of the forward pass: the tracked tensors by name, and for each
/// <see cref="GradientCheck.Step"/> the names it read and its function, in forward order. The verdict engine reads
/// it to find a tensor's consumers (its upstream rows), to re-evaluate a step locally and to replay the forward.
/// </summary>
internal sealed class StepTape
{
    private readonly Dictionary<string, Tensor> tracked = new(StringComparer.Ordinal);
    private readonly List<StepRecord> steps = [];

    /// <summary>One recorded step: its name, the tracked names it read (in first-read order) and its function.</summary>
    internal sealed record StepRecord(string Name, IReadOnlyList<string> Inputs, StepFunction F);

    public IReadOnlyCollection<string> Names => tracked.Keys;

    /// <summary>The recorded steps in forward order.</summary>
    public IReadOnlyList<StepRecord> Steps => steps;

    public bool Contains(string name) => tracked.ContainsKey(name);

    public bool TryGet(string name, out Tensor t) => tracked.TryGetValue(name, out t!);

    public Tensor this[string name] => name is null
        ? throw new GradientCheckException("a step read a tensor by the name null.")
        : tracked.TryGetValue(name, out var t)
        ? t
        : throw new GradientCheckException($"'{name}' was never tracked; tracked are: {string.Join(", ", tracked.Keys)}.");

    public void Track(string name, Tensor t)
    {
        RequireName(name, "Track");
        if (t is null) throw new GradientCheckException($"Track(\"{name}\", …) was given null instead of a tensor.");
        if (t.IsInvalid) throw new GradientCheckException($"Track(\"{name}\", …) was given a disposed tensor.");
        if (!t.requires_grad)
            throw new GradientCheckException($"'{name}' does not require a gradient: it is not on an autograd path.");
        if (tracked.ContainsKey(name)) throw new GradientCheckException($"'{name}' is tracked twice.");
        if (!t.is_leaf) t.retain_grad();
        tracked.Add(name, t);
    }

    /// <summary>Runs <paramref name="f"/>, recording the tracked names it reads, and tracks its value.</summary>
    public Tensor Step(string name, StepFunction f)
    {
        RequireName(name, "Step");
        if (tracked.ContainsKey(name)) throw new GradientCheckException($"'{name}' is tracked twice.");
        var inputs = new List<string>();
        var t = f(n =>
        {
            var x = this[n];
            if (!inputs.Contains(n)) inputs.Add(n);
            return x;
        }) ?? throw new GradientCheckException($"step '{name}' returned null.");
        Track(name, t);
        steps.Add(new StepRecord(name, inputs, f));
        return t;
    }

    private static void RequireName(string name, string method)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new GradientCheckException($"{method} needs a name: got {(name is null ? "null" : $"\"{name}\"")}.");
    }

    /// <summary>The steps that read <paramref name="name"/>.</summary>
    public IEnumerable<StepRecord> Consumers(string name) => steps.Where(s => s.Inputs.Contains(name));

    /// <summary>The steps whose gradients a row's line receives: the tensor's consumers, or the one it starts <paramref name="from"/>.</summary>
    public IEnumerable<StepRecord> Upstream(string name, string? from) =>
        from is null ? Consumers(name) : steps.Where(s => s.Name == from);

    /// <summary>
    /// The largest gradient flowing into the tensor's consumers (autograd's), or over every tracked tensor when its
    /// consumers are unknown: the scale against which a gradient counts as rounding noise.
    /// </summary>
    public double UpstreamScale(string name)
    {
        using var scope = NewDisposeScope();
        var outputs = Consumers(name).Select(s => s.Name).ToList();
        var names = outputs.Count > 0 ? outputs : tracked.Keys.Where(n => n != name).ToList();
        double max = 0;
        foreach (var n in names)
            if (tracked[n].grad is { } g) max = Math.Max(max, VerdictEngine.MaxAbs(g));
        return max;
    }

    /// <summary>
    /// Sizes that a factor n could be: the dimensions of the tensor and of every step around it; without steps, of
    /// every tracked tensor (a mean over the batch divides by a size the tensor itself may not have).
    /// </summary>
    public IReadOnlyCollection<long> Sizes(string name)
    {
        var sizes = new HashSet<long>(this[name].shape);
        var around = Consumers(name).SelectMany(s => s.Inputs.Append(s.Name)).ToList();
        foreach (var n in around.Count > 0 ? around : (IEnumerable<string>)tracked.Keys) sizes.UnionWith(tracked[n].shape);
        return sizes;
    }
}
