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
        var checkpoint = OptionFactory.Path("--checkpoint", $"checkpoint to sample from (default: <repo>/checkpoints/<model>.ckpt, now {CheckpointLocation.Default()})");
        var model = OptionFactory.Model(k => $"reads checkpoints/{k.Name}.ckpt by default");
        var count = OptionFactory.Int("--count", DefaultCount, "number of names", 0);
        var seed = OptionFactory.Seed(DefaultSeed, "seed of the sampling generator");
        var data = OptionFactory.Path("--data", "names.txt, needed only to calibrate batchnorm for a checkpoint saved mid-run (default: data/names.txt in the repository)");
        var cmd = new Command("sample", "Sample names from a trained checkpoint (a mid-run checkpoint is calibrated over the training set first); names are printed as they are made.")
        {
            checkpoint, count, seed, data, model,
        };
        cmd.SetAction(r =>
        {
            var modelKind = OptionFactory.ModelOf(r, model);
            using var signals = StopSignals.Listen(); // Ctrl+C and SIGTERM stop between two names, or two chunks of calibration
            string path = CheckpointLocation.Resolve(r.GetValue(checkpoint), modelKind);
            var c = CheckpointFile.Read(path);
            if (r.GetResult(model) is { Implicit: false } && c.Settings.Model != modelKind)
                throw new UserInputException($"{path} holds the {c.Settings.Model.Name} net, not --model {modelKind.Name}.");
            using var scope = TorchSharp.torch.NewDisposeScope();
            var trained = ITrainedModel.FromCheckpoint(c, path, () =>
            {
                var d = TrainingData.Load(r.GetValue(data), Console.Error, c.Settings.BlockSize);
                MinimumNames.EnsureTraining("sample (calibrating a mid-run checkpoint)", d.Split.Names, d.Path);
                d.EnsureMatches(c, path);
                MemoryBudget.Ensure(MemoryBudget.Sample(c.Settings.NHidden, d.Split.Train.Count),
                    $"calibrating {path} (--hidden {c.Settings.NHidden}) over {d.Split.Train.Count:N0} training examples",
                    advice: "train the run to its end (a finished checkpoint holds the batchnorm statistics) or sample on a machine with more memory");
                Console.Error.WriteLine($"{path} is from step {c.Step:N0} of {c.Settings.Steps:N0} and has no batchnorm statistics: calibrating over the training set of {d.Path}.");
                return d.Split.Train;
            });
            int wanted = r.GetValue(count), printed = 0;
            try
            {
                foreach (var name in trained.Sample(wanted, r.GetValue(seed)))
                {
                    Console.Out.WriteLine(name);
                    printed++;
                    // The reader has gone (`sample --count 1000000 | head`): the names it wanted are out; stop drawing.
                    if (StandardStreams.ReaderGone) break;
                }
            }
            catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("probability tensor", StringComparison.Ordinal))
            {
                throw new UserInputException($"{path}: the net in this checkpoint gives NaN or infinite probabilities (its parameters blew up, e.g. with a huge --lr); it cannot sample.");
            }
            catch (RunStoppedException stop)
            {
                Console.Error.WriteLine($"{stop.Signals.How} after {printed:N0} of {wanted:N0} names.");
                return stop.Signals.ExitCode;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
