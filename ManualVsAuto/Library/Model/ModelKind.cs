using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

// One entry per model. A net's own facts live in its ModelKind (here, in Model/): its name, its lecture defaults,
// how to build it from a generator, its parameter count and its activations per example. What later folders need of
// it is registered in those folders, keyed by the kind, with a default that fits any net made of layers:
//   Checking/ModelChecks    how `check` checks it (default: LayerCheck, layer by layer)
//   Training/ModelTrainings its checkpoint revision, trainers, batchnorm calibration (default: the layers' manual
//                           backward or autograd, revision 1, running statistics)
//   Cli/MemoryBudget        its memory estimate (default: from ParameterCount and ActivationsPerExample)
//   Cli/BenchmarkCommand    its BenchmarkDotNet class (default: none, so `benchmark` does not offer it)
// To add a net: write its ModelKind (beside its Create, as WaveNet.Entry) and call ModelKinds.Register(kind) once,
// before the command line is built; --model then offers it to check, train and sample. Register a ModelChecks,
// ModelTrainings, MemoryBudget or BenchmarkCommand entry only where the default does not fit.
// ModelKindsTests (a tiny net registered by the test alone) holds that this is enough.

namespace ManualVsAuto.Model;

/// <summary>A net the commands can check, train and sample: its facts, in one place. See the file comment for how to add one.</summary>
public sealed class ModelKind
{
    /// <summary>The value of <c>--model</c>, the checkpoint's file name (<c>checkpoints/&lt;name&gt;.ckpt</c>) and the report's model field.</summary>
    public required string Name { get; init; }

    /// <summary>One phrase for <c>--model</c>'s help, e.g. "makemore part 5's hierarchical net".</summary>
    public required string Description { get; init; }

    /// <summary>The context length the net reads, in characters.</summary>
    public required int BlockSize { get; init; }

    /// <summary>The seed the lecture builds the net after (<c>torch.manual_seed</c>): check's and train's default.</summary>
    public required ulong LectureSeed { get; init; }

    /// <summary>train's default n_hidden.</summary>
    public required int LectureNHidden { get; init; }

    /// <summary>check's default n_hidden (the lecture's MLP exercise uses a smaller net than its training); train's unless given.</summary>
    public int CheckNHidden { get => checkNHidden ?? LectureNHidden; init => checkNHidden = value; }

    /// <summary>train's default number of steps.</summary>
    public int LectureSteps { get; init; } = 200_000;

    /// <summary>The step from which train's learning rate is lr/10.</summary>
    public int LectureDecayStep { get; init; } = 100_000;

    /// <summary>Builds the net with its lecture init from <c>(generator, n_hidden)</c>, drawing in the notebook's order.</summary>
    public required Func<Generator, int, Sequential> Create { get; init; }

    /// <summary>Its parameter count at an n_hidden, without building it (a double: memory estimates ask for huge ones).</summary>
    public required Func<long, double> ParameterCount { get; init; }

    /// <summary>The values one example's forward produces (every layer's output) at an n_hidden: memory estimates scale with it.</summary>
    public required Func<long, double> ActivationsPerExample { get; init; }

    /// <summary>The names and shapes of the built net's <see cref="Sequential.State"/> at an n_hidden, in order: what a
    /// checkpoint of it must hold, checked before any tensor is made. Unless given, they are read off a net built
    /// at that n_hidden, which a net with a cheap closed form (a huge crafted n_hidden) should not rely on.</summary>
    public Func<int, IReadOnlyList<(string Name, long[] Shape)>> StateShapes { get => stateShapes ?? ShapesOfBuiltNet; init => stateShapes = value; }

    /// <summary>The net the commands run without <c>--model</c>; its name is left out of headers, as the lecture's.</summary>
    public bool IsDefault => ReferenceEquals(this, ModelKinds.Default);

    public override string ToString() => Name;

    private readonly int? checkNHidden;
    private readonly Func<int, IReadOnlyList<(string Name, long[] Shape)>>? stateShapes;

    private IReadOnlyList<(string Name, long[] Shape)> ShapesOfBuiltNet(int nHidden)
    {
        using var scope = NewDisposeScope();
        using var net = Create(new Generator(0), nHidden);
        return [.. net.State.Select(x => (x.Name, x.Tensor.shape))];
    }
}

/// <summary>The registry of nets: the lecture's MLP, part 5's WaveNet, and any registered with <see cref="Register"/>.</summary>
public static class ModelKinds
{
    private static readonly Lock Gate = new();
    private static readonly List<ModelKind> Registered = [Model.Mlp.Entry, Model.WaveNet.Entry, Model.DeepNet.Entry];

    /// <summary>The lecture's MLP (makemore part 4), the default.</summary>
    public static ModelKind Mlp => Model.Mlp.Entry;

    /// <summary>makemore part 5's hierarchical WaveNet.</summary>
    public static ModelKind WaveNet => Model.WaveNet.Entry;

    /// <summary>makemore part 3's deep net.</summary>
    public static ModelKind Deep => Model.DeepNet.Entry;

    public static ModelKind Default => Model.Mlp.Entry;

    /// <summary>Every registered net, in registration order (the built-in ones first).</summary>
    public static IReadOnlyList<ModelKind> All
    {
        get { lock (Gate) return [.. Registered]; }
    }

    /// <summary>Adds a net; disposing the result removes it again (a test's registration).</summary>
    /// <exception cref="ArgumentException">A net of that name is registered already.</exception>
    public static IDisposable Register(ModelKind kind)
    {
        lock (Gate)
        {
            if (Registered.Any(k => k.Name == kind.Name)) throw new ArgumentException($"a model named '{kind.Name}' is registered already", nameof(kind));
            Registered.Add(kind);
        }
        return new Registration(() => { lock (Gate) Registered.Remove(kind); });
    }

    /// <summary>The net whose <see cref="ModelKind.Name"/> is <paramref name="name"/>.</summary>
    public static bool TryParse(string? name, out ModelKind kind)
    {
        kind = All.FirstOrDefault(k => k.Name == name)!;
        return kind is not null;
    }

    /// <exception cref="ArgumentException">No net of that name is registered.</exception>
    public static ModelKind Parse(string? name) =>
        TryParse(name, out var kind) ? kind : throw new ArgumentException($"no model named '{name}' is registered", nameof(name));
}

/// <summary>
/// What a later folder keeps per net (a check, a trainer, a memory estimate): an entry registered for a kind, else
/// the folder's default for it. Lookups by kind replace switches on the kind.
/// </summary>
public sealed class ModelTable<T>(Func<ModelKind, T> fallback)
{
    private readonly Lock gate = new();
    private readonly Dictionary<ModelKind, T> entries = [];

    /// <summary>The entry registered for <paramref name="kind"/>, else the default.</summary>
    public T this[ModelKind kind]
    {
        get { lock (gate) return entries.TryGetValue(kind, out var e) ? e : fallback(kind); }
    }

    public bool IsRegistered(ModelKind kind)
    {
        lock (gate) return entries.ContainsKey(kind);
    }

    /// <summary>Sets the entry of a built-in net (a folder's own table, at start).</summary>
    public ModelTable<T> With(ModelKind kind, T entry)
    {
        lock (gate) entries[kind] = entry;
        return this;
    }

    /// <summary>Sets the entry of <paramref name="kind"/>; disposing the result removes it again.</summary>
    public IDisposable Register(ModelKind kind, T entry)
    {
        lock (gate)
        {
            if (entries.ContainsKey(kind)) throw new ArgumentException($"'{kind.Name}' has an entry already", nameof(kind));
            entries[kind] = entry;
        }
        return new Registration(() => { lock (gate) entries.Remove(kind); });
    }
}

/// <summary>A registration (of a net, a table entry, a report format) that disposing undoes, once.</summary>
public sealed class Registration(Action remove) : IDisposable
{
    private Action? remove = remove;

    public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
}
