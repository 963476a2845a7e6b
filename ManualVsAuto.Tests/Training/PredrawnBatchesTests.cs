using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The loop draws its minibatches a thousand steps ahead; what it trains on and the generator it leaves must be
/// the lecture's one <c>randint</c> per step, across chunk boundaries, checkpoints and an interruption.</summary>
public class PredrawnBatchesTests
{
    private static readonly ManualVsAuto.Data.Examples Train = LectureFixture.Split.Train;

    [DataTheory]
    [InlineData(2_345, null)]  // three chunks, the last one short; ends between chunk boundaries
    [InlineData(2_345, 1_234)] // stopped inside the second chunk, after a checkpoint at step 700
    public void TheLoopTrainsOnTheLecturesMinibatchesAndLeavesTheGeneratorAsStepByStep(int steps, int? stopAt)
    {
        using var scope = NewDisposeScope();
        var settings = new TrainingSettings(Steps: steps, NHidden: 16);
        string path = Path.Combine(Path.GetTempPath(), $"predrawn.{Guid.NewGuid():N}.ckpt");
        using var loop = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        try
        {
            var result = TrainingLoop.Run(loop, Train, new LoopOptions(path, CheckpointEvery: 700), new RecordingReporter(), i => i == stopAt);
            Assert.Equal(stopAt ?? steps, result.Step);
            Assert.Equal(GeneratorState(loop.Generator), CheckpointFile.Read(path).GeneratorState);
        }
        finally
        {
            File.Delete(path);
        }

        using var reference = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        for (int i = 0; i < (stopAt ?? steps); i++)
        {
            using var step = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Draw(Train, settings.BatchSize, reference.Generator);
            reference.Trainer.Step(Xb, Yb, settings.LearningRateAt(i));
        }
        TrainingAssert.BitwiseEqual(reference.Parameters, loop.Parameters);
        Assert.Equal(GeneratorState(reference.Generator), GeneratorState(loop.Generator));
    }

    private static byte[] GeneratorState(Generator g)
    {
        using var state = g.get_state();
        return state.data<byte>().ToArray();
    }
}
