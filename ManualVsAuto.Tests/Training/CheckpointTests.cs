using System.Buffers.Binary;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The checkpoint format and resuming: no lost work, no silent damage, bitwise continuation.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mva-ckpt-").FullName;
    private static readonly ManualVsAuto.Data.Examples Train = LectureFixture.Split.Train;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string PathOf(string name) => Path.Combine(dir, name);

    private static Checkpoint SmallCheckpoint(int steps = 40)
    {
        using var run = TrainingRun.Start(new TrainingSettings(Steps: steps, NHidden: 8, BatchSize: 4, Lr: 0.05, DecayStep: 7, Seed: 123), TrainingRunFactory.DataSha);
        TrainingLoop.Run(run, Train, new LoopOptions(null), new RecordingReporter(), _ => false);
        return run.Finish(Train).Final;
    }

    [DataFact]
    public void RoundTripKeepsEverything()
    {
        var c = SmallCheckpoint();
        string path = PathOf("a.ckpt");
        CheckpointFile.Write(path, c);
        var r = CheckpointFile.Read(path);
        Assert.Equal(c.Settings, r.Settings);
        Assert.Equal(40, r.Step);
        Assert.True(r.Complete);
        Assert.Equal(TrainingRunFactory.DataSha, r.DataSha256);
        Assert.Equal(c.Losses, r.Losses);
        Assert.Equal(c.GeneratorState, r.GeneratorState);
        Assert.Equal(c.Parameters.Select(p => p.Name), r.Parameters.Select(p => p.Name));
        foreach (var (a, b) in c.Parameters.Zip(r.Parameters))
        {
            Assert.Equal(a.Array.Shape, b.Array.Shape);
            Assert.Equal(a.Array.Data, b.Array.Data);
        }
        Assert.Equal(c.BatchNorm!.Mean.Data, r.BatchNorm!.Mean.Data);
        Assert.Equal(c.BatchNorm.Var.Data, r.BatchNorm.Var.Data);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(dir).Select(Path.GetFileName)); // no temporary left behind
    }

    /// <summary>The MLP needs calibrating until its final checkpoint (with the batchnorm statistics); the WaveNet never does.</summary>
    [DataFact]
    public void OnlyAnMlpCheckpointWithoutItsFinalStatisticsNeedsCalibration()
    {
        var mlp = new TrainingSettings(Steps: 20, NHidden: 8, BatchSize: 4);
        using (var run = TrainingRun.Start(mlp, TrainingRunFactory.DataSha))
        {
            TrainingLoop.Run(run, Train, new LoopOptions(null), new RecordingReporter(), _ => false);
            Assert.True(run.ToCheckpoint().Complete);
            Assert.True(run.ToCheckpoint().NeedsCalibration); // every step done, but not finished: calibration comes next
            Assert.False(run.Finish(Train).Final.NeedsCalibration);
        }
        using var waveNet = TrainingRun.Start(TrainingSettings.LectureDefaults(ModelKinds.WaveNet) with { Steps = 20, NHidden = 8 }, TrainingRunFactory.DataSha);
        Assert.False(waveNet.ToCheckpoint().NeedsCalibration); // at step 0: its running statistics are saved with it
    }

    [DataFact]
    public void EveryTruncationIsReportedAsTruncated()
    {
        string path = PathOf("a.ckpt");
        CheckpointFile.Write(path, SmallCheckpoint());
        var bytes = File.ReadAllBytes(path);
        foreach (int length in new[] { 1, 7, 8, 12, 16, 40, bytes.Length / 2, bytes.Length - 1 })
        {
            string cut = PathOf($"cut{length}.ckpt");
            File.WriteAllBytes(cut, bytes[..length]);
            var e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(cut));
            Assert.Equal($"{cut} is truncated: an incomplete ManualVsAuto checkpoint (was it copied or written only in part?).", e.Message);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello, world\n")]
    [InlineData("PK\u0003\u0004 a zip file, say")]
    public void AForeignFileIsNotACheckpoint(string content)
    {
        string path = PathOf("foreign.ckpt");
        File.WriteAllText(path, content);
        var e = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Equal($"{path} is not a ManualVsAuto checkpoint.", e.Message);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [DataFact]
    public void MissingCorruptAndFutureFilesAreNamed()
    {
        Assert.Contains("file not found", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(PathOf("none.ckpt"))).Message);

        string path = PathOf("a.ckpt");
        CheckpointFile.Write(path, SmallCheckpoint());
        var bytes = File.ReadAllBytes(path);
        var flipped = (byte[])bytes.Clone();
        flipped[^5] ^= 0x40; // one bit of one parameter
        File.WriteAllBytes(path, flipped);
        Assert.Contains("corrupt ManualVsAuto checkpoint (it does not match its checksum)",
            Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);

        var future = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), 7);
        File.WriteAllBytes(path, future);
        Assert.Contains("format version 7; this program reads versions 1 and 2", Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path)).Message);
    }

    /// <summary>A checkpoint written before the revision was recorded (0.3.0's format 1 without the field: revision 1,
    /// the libtorch-op manual backward, or autograd through the MLP's own tensor-op forward) still reads, and
    /// <c>sample</c> can use it, but resuming it is refused.</summary>
    [Theory]
    [InlineData(BackwardKind.Manual)]
    [InlineData(BackwardKind.Autograd)]
    public void ACheckpointWithoutABackwardRevisionIsRevisionOneAndDoesNotResume(BackwardKind kind)
    {
        string path = PathOf("old.ckpt");
        using (var run = TrainingRun.Start(new TrainingSettings(Steps: 10, NHidden: 8, Backward: kind), TrainingRunFactory.DataSha))
            CheckpointFile.Write(path, run.ToCheckpoint());
        var bytes = File.ReadAllBytes(path);
        int jsonLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        string json = System.Text.Encoding.UTF8.GetString(bytes, 16, jsonLength);
        string field = $",\"backwardRevision\":{kind.Revision(ModelKinds.Mlp)}";
        Assert.Contains(field, json);
        var payload = bytes[(16 + jsonLength)..^32];
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(payload));
        var oldJson = System.Text.Encoding.UTF8.GetBytes(json.Replace(field, "").TrimEnd('}') + $",\"payloadSha256\":\"{sha}\"}}");
        var old = bytes[..8].Concat(BitConverter.GetBytes(1u)).Concat(BitConverter.GetBytes((uint)oldJson.Length)).Concat(oldJson).Concat(payload).ToArray();
        File.WriteAllBytes(path, old);

        var c = CheckpointFile.Read(path);
        Assert.Equal(1, c.BackwardRevision);
        Assert.Equal(1, c.FileFormat);
        AssertResumesOrRefuses(c, resumes: false, "the checkpoint is in format 1 (ManualVsAuto 0.3.0 or earlier)");
        AssertResumesOrRefuses(c with { FileFormat = 2 }, resumes: false, $"the checkpoint was made by an earlier {kind.Name()} backward (revision 1), which rounds differently from this program's (revision {kind.Revision(ModelKinds.Mlp)}), so --resume cannot continue it exactly; start a new run with --overwrite (sample still reads it).");
    }

    /// <summary>Resuming <paramref name="c"/> starts at its step 0, or is refused with a one-line error containing <paramref name="refusal"/>.</summary>
    private static void AssertResumesOrRefuses(Checkpoint c, bool resumes, string refusal)
    {
        if (resumes)
        {
            using var run = TrainingRun.Resume(c);
            Assert.Equal(0, run.Step);
        }
        else
            Assert.Contains(refusal, Assert.Throws<CheckpointException>(() => TrainingRun.Resume(c)).Message);
    }

    /// <summary>The WaveNet's manual backward rounds differently since its batchnorm's 1/n moved inside (revision 3); the
    /// MLP's since its tanh became the step's own (3). A revision-2 manual checkpoint is refused for both; a revision-3 one
    /// resumes.</summary>
    [Theory]
    [InlineData("mlp", 2, false)]
    [InlineData("wavenet", 2, false)]
    [InlineData("mlp", 3, true)]
    [InlineData("wavenet", 3, true)]
    public void OnlyARevisionThreeManualCheckpointResumes(string modelName, int revision, bool resumes)
    {
        var model = ModelKinds.Parse(modelName);
        Assert.Equal(3, BackwardKind.Manual.Revision(ModelKinds.Mlp));
        Assert.Equal(3, BackwardKind.Manual.Revision(ModelKinds.WaveNet));
        string path = PathOf("rev2.ckpt");
        var settings = TrainingSettings.LectureDefaults(model) with { Steps = 10, NHidden = 8 };
        using (var run = TrainingRun.Start(settings, TrainingRunFactory.DataSha))
            CheckpointFile.Write(path, run.ToCheckpoint() with { BackwardRevision = revision });
        var c = CheckpointFile.Read(path);
        Assert.Equal(revision, c.BackwardRevision);
        AssertResumesOrRefuses(c, resumes, "(revision 2), which rounds differently from this program's (revision 3)");
    }

    /// <summary>
    /// The MLP's checkpoint format, written out by hand as the code before the MLP was made of layers wrote it (the
    /// arrays C, W1, b1, W2, b2, bngain, bnbias by name, the calibrated statistics beside them): it loads into the
    /// layers, the split loss is the lecture's formula on those very arrays, the names are the ones the lecture's
    /// forward draws, and a manual run resumes from it with the same parameters.
    /// </summary>
    [DataFact]
    public void AnMlpCheckpointInTheLecturesNamesLoadsSamplesAndResumes()
    {
        using var scope = NewDisposeScope();
        var settings = new TrainingSettings(Steps: 10, NHidden: 8);
        var g = new Generator(settings.Seed);
        var p = ManualVsAuto.Model.MlpParameters.Init(settings.Config, g).Copy(requiresGrad: false);
        var bnmean = randn([1, 8], generator: new Generator(1)) * 0.5;
        var bnvar = rand([1, 8], generator: new Generator(2)) + 0.5;
        using var gs = g.get_state();
        var written = new Checkpoint(settings, 10, TrainingRunFactory.DataSha,
            [("C", StoredArray.From(p.C)), ("W1", StoredArray.From(p.W1)), ("b1", StoredArray.From(p.b1)), ("W2", StoredArray.From(p.W2)),
             ("b2", StoredArray.From(p.b2)), ("bngain", StoredArray.From(p.bngain)), ("bnbias", StoredArray.From(p.bnbias))],
            gs.data<byte>().ToArray(), new float[10], new BatchNormStats(StoredArray.From(bnmean), StoredArray.From(bnvar)));
        string path = PathOf("mlp.ckpt");
        CheckpointFile.Write(path, written);
        var c = CheckpointFile.Read(path);

        var trained = ITrainedModel.FromCheckpoint(c, path, () => throw new InvalidOperationException("a final checkpoint needs no calibration"));
        Tensor Logits(Tensor X) // the lecture's inference forward, on the arrays as written
        {
            var hpreact = p.C.index_select(0, X.reshape(-1)).view(X.size(0), -1).matmul(p.W1) + p.b1;
            var h = tanh(p.bngain * (hpreact - bnmean) * (bnvar + 1e-5).pow(-0.5) + p.bnbias);
            return h.matmul(p.W2) + p.b2;
        }
        var val = LectureFixture.Split.Dev;
        using (no_grad())
        {
            var (X, Y) = val.ToTensors();
            Assert.Equal(TorchSharp.torch.nn.functional.cross_entropy(Logits(X), Y).item<float>(), trained.SplitLoss(val), 5);
        }
        Assert.Equal(Inference.Sample(Logits, 10, 7, settings.BlockSize), trained.Sample(10, 7));

        using var resumed = TrainingRun.Resume(c, steps: 12);
        TrainingAssert.BitwiseEqual(p, resumed.Parameters);
        Assert.Equal(TrainingEnd.Completed, TrainingLoop.Run(resumed, Train, new LoopOptions(null), new RecordingReporter(), _ => false).End);
        Assert.Equal(12, resumed.Step);
    }

    [Fact]
    public void ProbeTellsOursFromForeign()
    {
        Assert.Equal(CheckpointFile.FileKind.Missing, CheckpointFile.KindOf(PathOf("none")));
        File.WriteAllText(PathOf("text"), "not ours");
        Assert.Equal(CheckpointFile.FileKind.Foreign, CheckpointFile.KindOf(PathOf("text")));
        File.WriteAllBytes(PathOf("cut"), "MVACK"u8.ToArray());
        Assert.Equal(CheckpointFile.FileKind.Ours, CheckpointFile.KindOf(PathOf("cut")));
    }

    /// <summary>A run stopped at step 73 (Ctrl+C's path: stop at a boundary, save) and resumed from its checkpoint
    /// ends bitwise equal to one that ran straight through: parameters, generator (the minibatches) and the
    /// learning-rate schedule (decay at step 80) all carry over.</summary>
    [DataTheory]
    [InlineData(BackwardKind.Manual)]
    [InlineData(BackwardKind.Autograd)]
    public void InterruptedAndResumedRunEndsBitwiseEqualToAStraightOne(BackwardKind kind)
    {
        var settings = new TrainingSettings(Steps: 120, NHidden: 32, DecayStep: 80, Backward: kind);
        using var straight = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        Assert.Equal(TrainingEnd.Completed,
            TrainingLoop.Run(straight, Train, new LoopOptions(PathOf("straight.ckpt"), CheckpointEvery: 50), new RecordingReporter(), _ => false).End);

        string path = PathOf("stopped.ckpt");
        using (var first = TrainingRun.Start(settings, TrainingRunFactory.DataSha))
        {
            var stopped = TrainingLoop.Run(first, Train, new LoopOptions(path, CheckpointEvery: 50), new RecordingReporter(), i => i == 73);
            Assert.Equal(TrainingEnd.Interrupted, stopped.End);
            Assert.Equal(73, stopped.Step);
        }
        var saved = CheckpointFile.Read(path);
        Assert.Equal(73, saved.Step);
        Assert.False(saved.Complete);
        using var resumed = TrainingRun.Resume(saved);
        Assert.Equal(kind, resumed.Trainer.Kind);
        Assert.Equal(TrainingEnd.Completed,
            TrainingLoop.Run(resumed, Train, new LoopOptions(path, CheckpointEvery: 50), new RecordingReporter(), _ => false).End);

        TrainingAssert.BitwiseEqual(straight.Parameters, resumed.Parameters);
        Assert.Equal(straight.Losses(), resumed.Losses());
        Assert.Equal(120, resumed.Losses().Length);
    }

    [DataFact]
    public void PeriodicCheckpointsHoldTheStepAndTheHistory()
    {
        string path = PathOf("p.ckpt");
        using var run = TrainingRun.Start(new TrainingSettings(Steps: 45, NHidden: 8), TrainingRunFactory.DataSha);
        var saves = new List<int>();
        TrainingLoop.Run(run, Train, new LoopOptions(path, CheckpointEvery: 20), new RecordingReporter(), i =>
        {
            if (File.Exists(path)) saves.Add(CheckpointFile.Read(path).Step);
            return false;
        });
        Assert.Equal([20, 40], saves.Distinct());
        // Saved at 20, 40 and 45 (the end; the command then adds the batchnorm statistics).
        var c = CheckpointFile.Read(path);
        Assert.Equal(45, c.Step);
        Assert.Equal(run.Losses(), c.Losses);
        Assert.Null(c.BatchNorm);
    }
}
