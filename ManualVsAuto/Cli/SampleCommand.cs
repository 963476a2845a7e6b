using System.CommandLine;
using ManualVsAuto.Training;

namespace ManualVsAuto.Cli;

/// <summary><c>sample</c>: names from a checkpoint, with the lecture's sampling loop.</summary>
public static class SampleCommand
{
    public const int DefaultCount = 20;

    /// <summary>The lecture's <c>torch.Generator().manual_seed(2147483647 + 10)</c>.</summary>
    public const ulong DefaultSeed = 2147483647UL + 10;

    public static Command Create()
    {
        var checkpoint = Opt.Path("--checkpoint", $"checkpoint to sample from (default: <repo>/checkpoints/<model>.ckpt, now {CheckpointLocation.Default()})");
        var model = Opt.Model(k => $"reads checkpoints/{k.Name}.ckpt by default");
        var count = Opt.Int("--count", DefaultCount, "number of names", 0);
        var seed = Opt.Seed(DefaultSeed, "seed of the sampling generator");
        var data = Opt.Path("--data", "names.txt, needed only to calibrate batchnorm for a checkpoint saved mid-run (default: data/names.txt in the repository)");
        var cmd = new Command("sample", "Sample names from a trained checkpoint (a mid-run checkpoint is calibrated over the training set first); names are printed as they are made.")
        {
            checkpoint, count, seed, data, model,
        };
        cmd.SetAction(r =>
        {
            var modelKind = Opt.ModelOf(r, model);
            string path = CheckpointLocation.Resolve(r.GetValue(checkpoint), modelKind);
            var c = CheckpointFile.Read(path);
            if (r.GetResult(model) is { Implicit: false } && c.Settings.Model != modelKind)
                throw new UserInputException($"{path} holds the {c.Settings.Model.Name} net, not --model {modelKind.Name}.");
            using var scope = TorchSharp.torch.NewDisposeScope();
            var trained = ITrainedModel.FromCheckpoint(c, path, () =>
            {
                var d = TrainingData.Load(r.GetValue(data), Console.Error, c.Settings.BlockSize);
                DataSize.EnsureTraining("sample (calibrating a mid-run checkpoint)", d.Split.Names, d.Path);
                d.EnsureMatches(c, path);
                MemoryBudget.Ensure(MemoryBudget.Sample(c.Settings.Hidden, d.Split.Train.Count),
                    $"calibrating {path} (--hidden {c.Settings.Hidden}) over {d.Split.Train.Count:N0} training examples",
                    advice: "train the run to its end (a finished checkpoint holds the batchnorm statistics) or sample on a machine with more memory");
                Console.Error.WriteLine($"{path} is from step {c.Step:N0} of {c.Settings.Steps:N0} and has no batchnorm statistics: calibrating over the training set of {d.Path}.");
                return d.Split.Train;
            });
            using var pipe = PipeOutput();
            var output = pipe ?? Console.Out;
            try
            {
                foreach (var name in trained.Sample(r.GetValue(count), r.GetValue(seed))) output.WriteLine(name);
            }
            catch (IOException) when (pipe is not null)
            {
                // The reader has gone (`sample --count 1000000 | head`): the names it wanted are out; stop drawing.
            }
            catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("probability tensor", StringComparison.Ordinal))
            {
                throw new UserInputException($"{path}: the net in this checkpoint gives NaN or infinite probabilities (its parameters blew up, e.g. with a huge --lr); it cannot sample.");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// A plain stream on a redirected stdout (Linux, macOS), or null. .NET's console writer ignores a pipe whose reader
    /// has gone, so <c>sample --count 1000000 | head</c> would draw every name for nobody; this stream's write fails
    /// instead, and sampling stops there. Each name is flushed as it is made.
    /// </summary>
    private static StreamWriter? PipeOutput()
    {
        if (App.Captured || !Console.IsOutputRedirected || OperatingSystem.IsWindows()) return null;
        Console.Out.Flush();
        var stdout = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 1);
        return new StreamWriter(stdout, Console.OutputEncoding) { AutoFlush = true, NewLine = Console.Out.NewLine };
    }
}
