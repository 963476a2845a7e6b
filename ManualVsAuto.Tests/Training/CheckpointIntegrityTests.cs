using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Every byte of a checkpoint is verified: random damage anywhere is refused with a <see cref="CheckpointException"/>
/// (one line, exit 2 at the command line) or gives exactly the original's results; a crafted file whose checksum was
/// recomputed gets through only with legal values, checked against the model before any tensor is built.
/// </summary>
public sealed class CheckpointIntegrityTests
{
    /// <summary>Real checkpoints, trained on the names: the MLP's final one (with its batchnorm statistics) and a WaveNet's.</summary>
    private static readonly Lazy<byte[]> mlp = new(() =>
    {
        using var run = TrainingRun.Start(new TrainingSettings(Steps: 30, NHidden: 16, BatchSize: 8), TrainingRunFactory.DataSha);
        TrainingLoop.Run(run, LectureFixture.Split.Train, new LoopOptions(null), new RecordingReporter(), _ => false);
        return Bytes(run.Finish(LectureFixture.Split.Train).Final);
    });

    private static readonly Lazy<byte[]> waveNet = new(() =>
    {
        var s = TrainingSettings.LectureDefaults(ModelKinds.WaveNet) with { Steps = 30, NHidden = 16, BatchSize = 8 };
        using var run = TrainingRun.Start(s, TrainingRunFactory.DataSha);
        TrainingLoop.Run(run, WaveNetFixture.Split.Train, new LoopOptions(null), new RecordingReporter(), _ => false);
        return Bytes(run.ToCheckpoint());
    });

    private static byte[] File(ModelKind m) => (m == ModelKinds.Mlp ? mlp : waveNet).Value;

    private static byte[] Bytes(Checkpoint c)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mva-integrity-{Guid.NewGuid():N}.ckpt");
        try
        {
            CheckpointFile.Write(path, c);
            return System.IO.File.ReadAllBytes(path);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    /// <summary>What a user gets from a checkpoint: the loss over a few names and sampled names.</summary>
    private static (double Loss, string[] Names) Results(Checkpoint c)
    {
        using var scope = NewDisposeScope();
        var model = ITrainedModel.FromCheckpoint(c, "x", () => throw new InvalidOperationException("no calibration expected"));
        var words = new[] { "emma", "olivia", "ava", "isabella", "sophia" };
        return (model.SplitLoss(Dataset.Build(words, c.Settings.BlockSize)), model.Sample(4, 7).ToArray());
    }

    /// <summary>Parses <paramref name="bytes"/>: null when refused with a checkpoint error, else the checkpoint. Any other exception fails the test.</summary>
    private static Checkpoint? TryParse(byte[] bytes)
    {
        try
        {
            return CheckpointFile.Parse(bytes, "fuzz.ckpt");
        }
        catch (CheckpointException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            Assert.StartsWith("fuzz.ckpt ", e.Message);
            return null;
        }
    }

    /// <summary>1,000 random byte flips over each real checkpoint (anywhere: header, metadata, data, checksum): zero silently different results.</summary>
    [DataTheory]
    [InlineData("mlp")]
    [InlineData("wavenet")]
    public void RandomByteFlipsAreRefusedOrChangeNothing(string modelName)
    {
        var model = ModelKinds.Parse(modelName);
        var original = File(model);
        var expected = Results(CheckpointFile.Parse(original, "fuzz.ckpt"));
        var random = new Random(19 + ModelKinds.All.ToList().IndexOf(model));
        int refused = 0;
        for (int i = 0; i < 1000; i++)
        {
            var damaged = (byte[])original.Clone();
            int at = random.Next(damaged.Length);
            damaged[at] ^= (byte)random.Next(1, 256);
            if (TryParse(damaged) is not { } c) { refused++; continue; }
            var got = Results(c);
            Assert.True(got.Loss.Equals(expected.Loss) && got.Names.SequenceEqual(expected.Names), $"a flip at byte {at} loaded to other results");
        }
        Assert.Equal(1000, refused); // the checksum covers every byte
    }

    /// <summary>A bit flipped in the metadata of a version-2 file is caught by the checksum, not by luck: the same
    /// flip with the checksum recomputed reaches the validator (the renamed "offset" of issue 19).</summary>
    [DataFact]
    public void TheChecksumCoversTheMetadata()
    {
        var (json, _) = Split(File(ModelKinds.Mlp));
        var renamed = Encoding.UTF8.GetString(json).Replace("\"offset\":", "\"ofbset\":");
        var damaged = WithMetadata(File(ModelKinds.Mlp), Encoding.UTF8.GetBytes(renamed), recomputeChecksum: false);
        Assert.Contains("(it does not match its checksum)", Refusal(damaged));
        Assert.Contains("its metadata is malformed", Refusal(WithMetadata(File(ModelKinds.Mlp), Encoding.UTF8.GetBytes(renamed))));
    }

    /// <summary>Crafted files (issue 19's and more), each with a valid checksum: refused before any tensor is built,
    /// with a message that says what is wrong.</summary>
    [DataTheory]
    [InlineData("mlp", "settings.batchSize", "0", "batch size 0 is below 2")]
    [InlineData("mlp", "settings.batchSize", "1", "batch size 1 is below 2")]
    [InlineData("mlp", "settings.batchSize", "-5", "batch size -5 is below 2")]
    [InlineData("mlp", "settings.lr", "-1", "lr -1 is not a positive number")]
    [InlineData("mlp", "settings.lr", "0", "lr 0 is not a positive number")]
    [InlineData("mlp", "settings.steps", "-1", "steps -1 is not from 1 to")]
    [InlineData("mlp", "settings.steps", "29", "step 30 is not from 0 to the run's 29 steps")]
    [InlineData("mlp", "settings.steps", "2147483647", "steps 2147483647 is not from 1 to 100000000")]
    [InlineData("mlp", "settings.decayStep", "-3", "decay step -3 is negative")]
    [InlineData("mlp", "settings.hidden", "100", "array 'param.W1' has shape (30, 16); the model needs (30, 100)")]
    [InlineData("mlp", "settings.hidden", "0", "hidden 0 is below 1")]
    [InlineData("mlp", "settings.hidden", "\"16\"", "its metadata is malformed")]
    [InlineData("mlp", "settings.backward", "\"magic\"", "unknown backward 'magic'")]
    [InlineData("mlp", "settings.model", "\"wavenet\"", "a wavenet checkpoint at step 30 with n_hidden 16 holds param.layers[0].weight")]
    [InlineData("mlp", "settings.model", "null", "its metadata is malformed")]
    [InlineData("mlp", "settings.backwardRevision", "99", "unknown backward revision 99")]
    [InlineData("mlp", "settings.backwardRevision", "0", "unknown backward revision 0")]
    [InlineData("mlp", "settings.seed", "-1", "its metadata is malformed")]
    [InlineData("mlp", "step", "31", "step 31 is not from 0 to the run's 30 steps")]
    [InlineData("mlp", "step", "29", "array 'losses' has shape (30); the model needs (29)")]
    [InlineData("mlp", "step", "-1", "step -1 is not from 0")]
    [InlineData("mlp", "dataSha256", "\"0a30b5557f19\"", "its data sha256 is not 64 hexadecimal digits")]
    [InlineData("mlp", "dataSha256", "null", "its metadata is malformed")]
    [InlineData("mlp", "format", "\"something else\"", "its format is 'something else'")]
    [InlineData("mlp", "payloadLength", "12", "unexpected bytes after the data")]
    [InlineData("mlp", "payloadLength", "99999999", "truncated")]
    [InlineData("mlp", "arrays.0.shape", "[10,27]", "array 'param.C' has shape (10, 27); the model needs (27, 10)")]
    [InlineData("mlp", "arrays.0.shape", "[-27,-10]", "array 'param.C' has shape (-27, -10)")]
    [InlineData("mlp", "arrays.1.shape", "[16,30]", "array 'param.W1' has shape (16, 30); the model needs (30, 16)")]
    [InlineData("mlp", "arrays.1.offset", "0", "array 'param.W1' is not where its size puts it")]
    [InlineData("mlp", "arrays.1.length", "4", "array 'param.W1' is not where its size puts it")]
    [InlineData("mlp", "arrays.1.dtype", "\"float64\"", "array 'param.W1' is float64, not float32")]
    [InlineData("mlp", "arrays.1.name", "\"param.W9\"", "it holds the arrays param.C, param.W9")]
    [InlineData("mlp", "arrays.7.shape", "[5]", "array 'generator_state' has shape (5); the model needs (5056)")]
    [InlineData("mlp", "arrays.9.shape", "[1,100]", "array 'bnmean' has shape (1, 100); the model needs (1, 16)")]
    [InlineData("mlp", "arrays.9.offset", "-4", "array 'bnmean' is not where its size puts it")]
    [InlineData("mlp", "arrays.0.offset", "1.5", "its metadata is malformed")]
    [InlineData("mlp", "arrays", "[]", "it holds the arrays ; a mlp checkpoint")]
    [InlineData("wavenet", "settings.hidden", "17", "array 'param.layers[2].weight' has shape (48, 16); the model needs (48, 17)")]
    [InlineData("wavenet", "settings.model", "\"mlp\"", "; a mlp checkpoint")] // both nets' manual backward is revision 3: the arrays tell
    [InlineData("wavenet", "arrays.0.shape", "[24,27]", "array 'param.layers[0].weight' has shape (24, 27); the model needs (27, 24)")]
    [InlineData("wavenet", "arrays.4.shape", "[100]", "array 'param.layers[3].running_mean' has shape (100)")]
    public void ACraftedFieldIsRefusedWithItsReason(string modelName, string field, string value, string reason)
    {
        var model = ModelKinds.Parse(modelName);
        var meta = Metadata(File(model));
        Set(meta, field, JsonNode.Parse(value));
        Assert.Contains(reason, Refusal(WithMetadata(File(model), Encoding.UTF8.GetBytes(meta.ToJsonString()))));
    }

    /// <summary>Strict parsing: a missing, unknown or duplicate field is an error, not a default.</summary>
    [DataTheory]
    [InlineData("remove", "dataSha256")]
    [InlineData("remove", "settings.lr")]
    [InlineData("remove", "settings.backwardRevision")]
    [InlineData("remove", "arrays.1.offset")]
    [InlineData("add", "extra")]
    [InlineData("add", "settings.extra")]
    [InlineData("add", "arrays.1.extra")]
    [InlineData("duplicate", "step")]
    public void AMissingUnknownOrDuplicateFieldIsRefused(string how, string field)
    {
        var original = File(ModelKinds.Mlp);
        var meta = Metadata(original);
        string json;
        if (how == "remove") { Remove(meta, field); json = meta.ToJsonString(); }
        else if (how == "add") { Set(meta, field, JsonValue.Create(1)); json = meta.ToJsonString(); }
        else json = meta.ToJsonString().Replace("\"step\":30,", "\"step\":30,\"step\":30,");
        Assert.Contains("its metadata is malformed", Refusal(WithMetadata(original, Encoding.UTF8.GetBytes(json))));
    }

    /// <summary>
    /// The validator under fire: 500 random edits of one metadata field each (numbers, shapes, offsets, names, types),
    /// the checksum recomputed. Each is refused, or is an edit that changes no result (a training setting such as lr
    /// or seed, which inference does not read), and then loads to exactly the original's results. No other exception
    /// (and no native abort, which would end the test run) gets through.
    /// </summary>
    [DataTheory]
    [InlineData("mlp")]
    [InlineData("wavenet")]
    public void CraftedEditsWithARecomputedChecksumAreRefusedOrHarmless(string modelName)
    {
        var model = ModelKinds.Parse(modelName);
        var original = File(model);
        var expected = Results(CheckpointFile.Parse(original, "fuzz.ckpt"));
        var random = new Random(20 + ModelKinds.All.ToList().IndexOf(model));
        string[] harmless = ["settings.lr", "settings.seed", "settings.decayStep", "settings.batchSize", "settings.steps", "settings.backward", "dataSha256"];
        int accepted = 0;
        for (int i = 0; i < 500; i++)
        {
            var meta = Metadata(original);
            var fields = Leaves(meta).ToList();
            var (path, node) = fields[random.Next(fields.Count)];
            JsonNode? value = Mutate(node, random);
            if (JsonNode.DeepEquals(value, node)) continue; // no edit at all
            Set(meta, path, value);
            if (TryParse(WithMetadata(original, Encoding.UTF8.GetBytes(meta.ToJsonString()))) is not { } c) continue;
            accepted++;
            Assert.True(harmless.Contains(path), $"{path} = {value?.ToJsonString() ?? "null"} was accepted");
            var got = Results(c);
            Assert.True(got.Loss.Equals(expected.Loss) && got.Names.SequenceEqual(expected.Names), $"{path} = {value?.ToJsonString()} loaded to other results");
        }
        Assert.InRange(accepted, 1, 499); // both branches were exercised
    }

    /// <summary>A 0.3.0 checkpoint (format 1: its checksum covers the data only) is read under the same checks and
    /// samples; <c>--resume</c> refuses it, naming its format.</summary>
    [DataFact]
    public void AFormatOneCheckpointSamplesButDoesNotResume()
    {
        var original = File(ModelKinds.Mlp);
        var v1 = FormatOne(original, _ => { });
        var c = CheckpointFile.Parse(v1, "old.ckpt");
        Assert.Equal(1, c.FileFormat);
        Assert.Equal(Results(CheckpointFile.Parse(original, "x")), Results(c), ResultsComparer.Instance);
        Assert.Contains("the checkpoint is in format 1 (ManualVsAuto 0.3.0 or earlier)", Assert.Throws<CheckpointException>(() => TrainingRun.Resume(c)).Message);

        // Its metadata, not covered by a checksum, is still checked field by field: the renamed "offset" is refused.
        var renamed = FormatOne(original, m => { var a = m["arrays"]![1]!.AsObject(); a["ofbset"] = a["offset"]!.DeepClone(); a.Remove("offset"); });
        Assert.Contains("its metadata is malformed", Refusal(renamed, "old.ckpt"));
        var badLr = FormatOne(original, m => m["settings"]!["lr"] = -1);
        Assert.Contains("lr -1 is not a positive number", Refusal(badLr, "old.ckpt"));
    }

    /// <summary>The model's own description of its state agrees with the model built from it, for both nets and several sizes.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void TheLayoutIsTheBuiltModelsState(int hidden)
    {
        using var scope = NewDisposeScope();
        foreach (var model in ModelKinds.All)
        {
            var s = TrainingSettings.LectureDefaults(model) with { NHidden = hidden, Steps = 5 };
            using var run = TrainingRun.Start(s, TrainingRunFactory.DataSha);
            var built = run.Trainer.State.Select(x => (x.Name, string.Join(",", x.Tensor.shape))).ToList();
            Assert.Equal(built, CheckpointLayout.State(s).Select(x => (x.Name, string.Join(",", x.Shape))).ToList());
        }
    }

    private sealed class ResultsComparer : IEqualityComparer<(double Loss, string[] Names)>
    {
        public static readonly ResultsComparer Instance = new();
        public bool Equals((double Loss, string[] Names) a, (double Loss, string[] Names) b) => a.Loss.Equals(b.Loss) && a.Names.SequenceEqual(b.Names);
        public int GetHashCode((double Loss, string[] Names) x) => x.Loss.GetHashCode();
    }

    private static string Refusal(byte[] bytes, string path = "fuzz.ckpt")
    {
        var e = Assert.Throws<CheckpointException>(() => CheckpointFile.Parse(bytes, path));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    private static (byte[] Json, int End) Split(byte[] file)
    {
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        return (file[16..(16 + length)], 16 + length);
    }

    private static JsonObject Metadata(byte[] file) => JsonNode.Parse(Split(file).Json)!.AsObject();

    /// <summary>The file with other metadata (the payload unchanged) and, by default, its checksum recomputed.</summary>
    private static byte[] WithMetadata(byte[] file, byte[] json, bool recomputeChecksum = true)
    {
        var (_, end) = Split(file);
        var body = file[..12].Concat(BitConverter.GetBytes((uint)json.Length)).Concat(json).Concat(file[end..^32]).ToArray();
        return body.Concat(recomputeChecksum ? SHA256.HashData(body) : file[^32..]).ToArray();
    }

    /// <summary>The file as 0.3.0 wrote it: format 1, no trailing checksum, the payload's sha256 in the metadata.</summary>
    private static byte[] FormatOne(byte[] file, Action<JsonObject> edit)
    {
        var (_, end) = Split(file);
        var payload = file[end..^32];
        var meta = Metadata(file);
        meta["payloadSha256"] = Convert.ToHexStringLower(SHA256.HashData(payload));
        edit(meta);
        var json = Encoding.UTF8.GetBytes(meta.ToJsonString());
        var header = file[..16];
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)json.Length);
        return header.Concat(json).Concat(payload).ToArray();
    }

    /// <summary>Every value in the metadata that is not an object or array, by dotted path (arrays by index).</summary>
    private static IEnumerable<(string Path, JsonNode Node)> Leaves(JsonNode node, string prefix = "")
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o) foreach (var x in Leaves(v!, prefix + k + ".")) yield return x;
                break;
            case JsonArray a when prefix.EndsWith("shape.", StringComparison.Ordinal):
                yield return (prefix.TrimEnd('.'), a);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) foreach (var x in Leaves(a[i]!, prefix + i + ".")) yield return x;
                break;
            default:
                yield return (prefix.TrimEnd('.'), node);
                break;
        }
    }

    private static JsonNode? Mutate(JsonNode node, Random r)
    {
        long[] numbers = [-1, 0, 1, 2, 5, 16, 17, 27, 100, 5056, int.MaxValue, long.MaxValue, -(long)int.MaxValue];
        switch (r.Next(4))
        {
            case 0: return null;
            case 1: return JsonValue.Create(numbers[r.Next(numbers.Length)]);
            case 2: return JsonValue.Create(r.Next(2) == 0 ? "mlp" : "param.C");
            default:
                if (node is JsonArray shape) return new JsonArray(shape.Select(x => (JsonNode?)JsonValue.Create(r.Next(2) == 0 ? (long)x! + 1 : numbers[r.Next(numbers.Length)])).Reverse().ToArray());
                if (node.GetValueKind() == System.Text.Json.JsonValueKind.Number) return JsonValue.Create(node.GetValue<double>() * (r.Next(2) == 0 ? 2 : 0.5));
                return JsonValue.Create(node.GetValue<string>() + "x");
        }
    }

    private static void Set(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        JsonNode parent = root;
        foreach (var p in parts[..^1]) parent = int.TryParse(p, out int i) ? parent[i]! : parent[p]!;
        if (parent is JsonArray a) a[int.Parse(parts[^1])] = value;
        else parent.AsObject()[parts[^1]] = value;
    }

    private static void Remove(JsonObject root, string path)
    {
        var parts = path.Split('.');
        JsonNode parent = root;
        foreach (var p in parts[..^1]) parent = int.TryParse(p, out int i) ? parent[i]! : parent[p]!;
        parent.AsObject().Remove(parts[^1]);
    }
}
