using BenchmarkDotNet.Attributes;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// One net's training step, all from one run: the manual step; autograd through the layers' forward (the lecture's
/// shape); autograd with composite ops (<see cref="CompositeAutogradTrainer"/>, the fastest a TorchSharp user would
/// write); the step's matmuls alone into preallocated outputs (the floor a step that leaves them to libtorch cannot
/// pass); and the training loop itself (<see cref="TrainingLoop"/>, minibatch draws, loss record and checkpoints
/// included) per step. A subclass builds the net and sets the loop's length.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public abstract class StepBenchmark
{
    /// <summary>libtorch intra-op threads; <see cref="Cli.BenchmarkCommand"/> sets the list (<c>--threads</c>).</summary>
    public static int[] ThreadCounts { get; set; } = [1];

    [ParamsSource(nameof(ThreadCountsSource))]
    public int Threads { get; set; }

    public static IEnumerable<int> ThreadCountsSource() => ThreadCounts;

    protected IModelTrainer ManualTrainer { get; set; } = null!;
    protected IModelTrainer AutogradTrainer { get; set; } = null!;
    protected IModelTrainer CompositeTrainer { get; set; } = null!;
    protected Tensor Xb { get; set; } = null!;
    protected Tensor Yb { get; set; } = null!;

    /// <summary>A tiny learning rate keeps the parameters (and so the work) the same over millions of steps.</summary>
    private const double Lr = 1e-12;

    /// <summary>The products of the step's Linear layers: forward, weight gradient, input gradient (x, W, out; a, b, out).</summary>
    private readonly List<(Tensor A, Tensor B, Tensor Out)> products = [];
    private string? loopCheckpoint;
    private Examples loopData = null!;
    private TrainingRun? loopRun;

    /// <summary>What the loop's checkpoints record as the data's sha256.</summary>
    private static readonly string SyntheticSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("synthetic names"u8));

    /// <summary>The net's multiply-adds in the step's matmuls, times 2.</summary>
    public double MatmulFlops => products.Sum(p => 2.0 * p.A.size(0) * p.A.size(1) * p.B.size(1));

    protected abstract ModelKind Model { get; }

    /// <summary>A fresh net from <paramref name="seed"/> (the same for all three trainers).</summary>
    protected abstract Sequential CreateNet(ulong seed);

    /// <summary>The manual step's trainer on <see cref="CreateNet"/>(1)'s parameters.</summary>
    protected abstract IModelTrainer CreateManualTrainer();

    /// <summary>Builds the trainers, the batch, the floor's buffers and the loop's synthetic data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        ManualTrainer = CreateManualTrainer();
        AutogradTrainer = new AutogradLayerTrainer(CreateNet(1));
        CompositeTrainer = new CompositeAutogradTrainer(CreateNet(1));
        var settings = TrainingSettings.LectureDefaults(Model);
        // A synthetic batch and data set: the benchmark must not depend on where names.txt lives.
        var g = new Generator(1);
        Xb = randint(0, Vocabulary.Size, [32, settings.BlockSize], generator: g).DetachFromDisposeScope();
        Yb = randint(0, Vocabulary.Size, [32], generator: g).DetachFromDisposeScope();
        MakeProducts(CreateNet(1), g);
        var random = new Random(1);
        var words = Enumerable.Range(0, 20_000).Select(_ => new string(Enumerable.Range(0, random.Next(2, 10)).Select(_ => (char)('a' + random.Next(26))).ToArray()));
        loopData = Dataset.Build(words, settings.BlockSize).Pack();
        loopCheckpoint = Path.Combine(Path.GetTempPath(), $"ManualVsAuto.benchmark.{Environment.ProcessId}.{Model.Name}.ckpt");
    }

    /// <summary>Each Linear layer's input as the forward sees it (flattened to 2-D), its weight, and random upstream
    /// gradients: the three products per layer into outputs made here.</summary>
    private void MakeProducts(Sequential net, Generator g)
    {
        using (no_grad())
        {
            var x = Xb;
            foreach (var layer in net.Layers)
            {
                if (layer is Linear linear)
                {
                    var w = linear.Weight.Value.detach().clone();
                    var x2 = x.detach().reshape(-1, x.size(-1)).contiguous().clone();
                    var dout = randn([x2.size(0), w.size(1)], generator: g);
                    products.Add((x2, w, empty(x2.size(0), w.size(1))));         // out = x @ W
                    products.Add((x2.t(), dout, empty(w.size(0), w.size(1))));   // dW = xᵀ @ dout
                    products.Add((dout, w.t(), empty(x2.size(0), w.size(0))));   // dx = dout @ Wᵀ
                }
                x = layer.Forward(x, ForwardMode.Inspect);
            }
        }
        foreach (var (a, b, o) in products) { a.DetachFromDisposeScope(); b.DetachFromDisposeScope(); o.DetachFromDisposeScope(); }
        net.Dispose();
    }

    [Benchmark(Baseline = true, Description = "autograd step (layers)")]
    public void Autograd()
    {
        using var scope = NewDisposeScope();
        AutogradTrainer.Step(Xb, Yb, Lr);
    }

    [Benchmark(Description = "autograd step (composite ops)")]
    public void AutogradComposite()
    {
        using var scope = NewDisposeScope();
        CompositeTrainer.Step(Xb, Yb, Lr);
    }

    [Benchmark(Description = "manual step")]
    public void Manual()
    {
        using var scope = NewDisposeScope();
        ManualTrainer.Step(Xb, Yb, Lr);
    }

    /// <summary>The manual step as <c>train --diagnostics</c> samples it: the same step handing out its activity, then
    /// <see cref="TrainingDiagnostics.Record"/> of it. Its excess over <see cref="Manual"/> is a sample's cost.</summary>
    [Benchmark(Description = "manual step, sampled by --diagnostics")]
    public void ManualSampled()
    {
        using var scope = NewDisposeScope();
        ((IObservableTrainer)ManualTrainer).Step(Xb, Yb, Lr, out var activity);
        diagnostics.Record(0, activity);
    }

    /// <summary>The steps <c>train --model</c> runs by default, whose <see cref="TrainingDiagnostics.DefaultEvery"/>
    /// is the sampling the benchmark's per-step share assumes.</summary>
    public static int DefaultSteps(Type benchmark) => ((StepBenchmark)Activator.CreateInstance(benchmark)!).DefaultTrainingSteps;

    private int DefaultTrainingSteps => TrainingSettings.LectureDefaults(Model).Steps;

    private readonly TrainingDiagnostics diagnostics = new(1);

    [Benchmark(Description = "matmul floor")]
    public void MatmulFloor()
    {
        foreach (var (a, b, o) in products) o.addmm_(a, b, beta: 0, alpha: 1);
    }

    /// <summary>Steps per <see cref="Loop"/> call (a subclass's <c>OperationsPerInvoke</c>).</summary>
    protected abstract int LoopSteps { get; }

    /// <summary><see cref="TrainingLoop.Run"/> as <c>train</c> runs it (checkpoints every 10,000 steps and at the end),
    /// printing into nothing; a subclass marks it a benchmark with its step count.</summary>
    protected void RunLoop()
    {
        loopRun?.Dispose();
        loopRun = TrainingRun.Start(TrainingSettings.LectureDefaults(Model) with { Steps = LoopSteps }, SyntheticSha);
        var o = new LoopOptions(loopCheckpoint, CheckpointEvery: 10_000);
        var result = TrainingLoop.Run(loopRun!, loopData, o, new PlainReporter(TextWriter.Null, TextWriter.Null), _ => false);
        if (result.End != TrainingEnd.Completed) throw new InvalidOperationException(result.Message);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        ManualTrainer.Dispose();
        AutogradTrainer.Dispose();
        CompositeTrainer.Dispose();
        loopRun?.Dispose();
        foreach (var (a, b, o) in products) { a.Dispose(); b.Dispose(); o.Dispose(); }
        if (loopCheckpoint is not null) File.Delete(loopCheckpoint);
    }
}
