using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>What a check run depends on; printed above the report so a run can be reproduced.</summary>
public sealed record CheckSettings(
    ulong Seed = MlpConfig.LectureSeed,
    int BatchSize = 32,
    int NHidden = 64,
    int Threads = 1,
    ScalarType Dtype = ScalarType.Float32,
    FiniteDifferenceMode? Numeric = FiniteDifferenceMode.Fast);
