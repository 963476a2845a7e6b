using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>A float32 array with its shape, as stored in a checkpoint.</summary>
public sealed record StoredArray(long[] Shape, float[] Data)
{
    public static StoredArray From(Tensor t)
    {
        using var c = t.detach().to_type(ScalarType.Float32).contiguous();
        return new StoredArray(c.shape, c.data<float>().ToArray());
    }

    /// <summary>A libtorch-owned copy: <c>tensor(float[])</c> wraps the pinned managed array, whose alignment
    /// differs from libtorch's, and BLAS kernels may then round differently, breaking bitwise resumption.</summary>
    public Tensor ToTensor()
    {
        using var wrapped = tensor(Data, Shape, ScalarType.Float32);
        return wrapped.clone();
    }
}

/// <summary>Batchnorm's mean and variance over the whole training set (the lecture's calibration), each (1, n_hidden).</summary>
public sealed record BatchNormStats(StoredArray Mean, StoredArray Var);

/// <summary>
/// Everything a run needs to continue exactly where it stopped: the settings, the number of steps done, the
/// parameters, the generator's state (the next minibatches), the loss history (for <c>--plot</c>) and the
/// names file's sha256 (a resumed run must see the same data). The final checkpoint also holds the batchnorm
/// calibration, so <c>sample</c> needs no data.
/// </summary>
public sealed record Checkpoint(
    TrainingSettings Settings,
    int Step,
    string DataSha256,
    IReadOnlyList<(string Name, StoredArray Array)> Parameters,
    byte[] GeneratorState,
    float[] Losses,
    BatchNormStats? BatchNorm)
{
    /// <summary>The <see cref="BackwardKinds.Revision"/> of the backward that made it (1 in files that predate the field).</summary>
    public int BackwardRevision { get; init; } = Settings.Backward.Revision(Settings.Model);

    /// <summary>The <see cref="CheckpointFile"/> format it was read from: 1 for a file of 0.3.0 or earlier, whose
    /// metadata no checksum covers; <c>--resume</c> refuses those (sample reads them).</summary>
    public int FileFormat { get; init; } = CheckpointFile.FormatVersion;

    public bool Complete => Step >= Settings.Steps;

    /// <summary>
    /// Whether inference must first calibrate batchnorm over the training set: the MLP's, unless this is its final
    /// checkpoint (<see cref="TrainingRun.Finish"/> adds the statistics); never the WaveNet's, whose running statistics
    /// are in every checkpoint. A checkpoint at its last step that needs none is a finished run.
    /// </summary>
    public bool NeedsCalibration => BatchNorm is null && ModelTrainings.For(Settings.Model).Calibration is not null;

    /// <summary>Fails unless this program's backward is the one that made the checkpoint, so resuming continues it bitwise.</summary>
    public void EnsureResumable()
    {
        if (FileFormat < CheckpointFile.FormatVersion)
            throw new CheckpointException(
                $"the checkpoint is in format {FileFormat} (ManualVsAuto 0.3.0 or earlier), whose checksum does not cover its settings, so --resume cannot trust them; start a new run with --overwrite (sample still reads it).");
        if (BackwardRevision != Settings.Backward.Revision(Settings.Model))
            throw new CheckpointException(
                $"the checkpoint was made by an earlier {Settings.Backward.Name()} backward (revision {BackwardRevision}), which rounds differently from this program's (revision {Settings.Backward.Revision(Settings.Model)}), so --resume cannot continue it exactly; start a new run with --overwrite (sample still reads it).");
    }

    /// <param name="state">The model's parameters (and running statistics), by name.</param>
    public static Checkpoint Capture(TrainingSettings settings, int step, string dataSha256,
        IReadOnlyList<(string Name, Tensor Tensor)> state, Generator g, float[] losses, BatchNormStats? batchNorm = null)
    {
        using var generatorState = g.get_state();
        return new Checkpoint(settings, step, dataSha256,
            state.Select(x => (x.Name, StoredArray.From(x.Tensor))).ToList(),
            generatorState.to_type(ScalarType.Byte).data<byte>().ToArray(), losses, batchNorm);
    }

    /// <summary>The parameters as fresh float32 tensors (not requiring gradients), in the lecture's order.</summary>
    public MlpParameters ToParameters()
    {
        var t = Parameters.ToDictionary(x => x.Name, x => x.Array.ToTensor());
        return new MlpParameters(t["C"], t["W1"], t["b1"], t["W2"], t["b2"], t["bngain"], t["bnbias"]);
    }

    /// <summary>Copies the saved state into a freshly built model's tensors (same names, same shapes, same order).</summary>
    public void RestoreInto(IReadOnlyList<(string Name, Tensor Tensor)> state, string path)
    {
        if (!state.Select(s => s.Name).SequenceEqual(Parameters.Select(p => p.Name)))
            throw new CheckpointException($"{path} holds the arrays {string.Join(", ", Parameters.Select(p => p.Name))}, not those of a {Settings.Model.Name} model.");
        using var _ = no_grad();
        foreach (var ((name, t), (_, a)) in state.Zip(Parameters))
        {
            if (!t.shape.SequenceEqual(a.Shape))
                throw new CheckpointException($"{path}: {name} has shape ({string.Join(", ", a.Shape)}); the model needs ({string.Join(", ", t.shape)}).");
            using var stored = a.ToTensor();
            t.copy_(stored);
        }
    }

    /// <summary>Puts the generator back in the saved state.</summary>
    public void RestoreGenerator(Generator g)
    {
        using var state = tensor(GeneratorState, ScalarType.Byte);
        g.set_state(state);
    }
}
