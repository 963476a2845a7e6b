using ManualVsAuto.Data;
using ManualVsAuto.Model;

namespace ManualVsAuto.Checking;

/// <summary>How <c>check</c> checks a net, registered per <see cref="ModelKind"/> (see Model/ModelKind.cs).</summary>
/// <param name="Run">The check on the training split; the progress callback (parameter, done, of how many) may be ignored.</param>
/// <param name="Rows">What its rows are, one phrase for <c>--model</c>'s help.</param>
/// <param name="HasDlogits">Whether its report carries Exercise 2's dlogits (check's <c>--plot</c>).</param>
public sealed record ModelCheck(Func<Examples, CheckSettings, Action<string, long, long>?, CheckReport> Run, string Rows, bool HasDlogits = false);

public static class ModelChecks
{
    /// <summary>The lecture's MLP gets Exercise 1's rows (<see cref="LectureCheck"/>); any other net is checked layer by layer.</summary>
    public static readonly ModelTable<ModelCheck> Table =
        new ModelTable<ModelCheck>(kind => new ModelCheck((train, s, _) => LayerCheck.RunModel(kind, train, s), "checked layer by layer"))
            .With(ModelKinds.Mlp, new ModelCheck((train, s, progress) => LectureCheck.Run(train, s, numericProgress: progress),
                "Exercise 1's 26 rows and the fused rows of Exercises 2 and 3", HasDlogits: true));

    public static ModelCheck For(ModelKind kind) => Table[kind];
}
