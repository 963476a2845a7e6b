using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using ManualVsAuto.Model;

namespace ManualVsAuto.Training;

/// <summary>
/// The checkpoint file format, version 2, self-describing and little-endian:
/// <code>
///   8 bytes   magic "MVACKPT\0"
///   uint32    format version (2)
///   uint32    metadata length L
///   L bytes   metadata: UTF-8 JSON (settings, step, data sha256, and for each array its name, dtype, shape,
///             byte offset and length in the payload; the payload's length)
///   payload   the arrays' raw bytes (float32, generator state as bytes), back to back
///   32 bytes  SHA-256 of every byte before it
/// </code>
/// A file is written whole to a temporary file next to the target, flushed to disk, then renamed over it,
/// so a crash or Ctrl+C mid-write leaves the previous checkpoint intact. Reading checks the checksum over the
/// whole file first, then parses the metadata strictly (an unknown, missing, duplicate or mistyped field is an
/// error) and checks every field against the model it describes (<see cref="CheckpointLayout"/>) before any
/// tensor is built; a problem is a <see cref="CheckpointException"/> naming it. Version 1 (written by 0.3.0 and
/// earlier, whose checksum covered the payload only) is still read under the same checks, for <c>sample</c>;
/// <c>--resume</c> refuses it (<see cref="Checkpoint.EnsureResumable"/>).
/// </summary>
public static class CheckpointFile
{
    public const int FormatVersion = 2;
    private static readonly byte[] Magic = "MVACKPT\0"u8.ToArray();
    private const int HeaderSize = 16;
    private const int ChecksumSize = 32;

    /// <summary>Metadata longer than this is not ours (a checkpoint's is a few hundred bytes).</summary>
    private const int MaxMetadataLength = 1 << 20;

    public static void Write(string path, Checkpoint c)
    {
        var payload = new MemoryStream();
        var arrays = new List<ArrayEntry>();
        void Add(string name, string dtype, long[] shape, ReadOnlySpan<byte> bytes)
        {
            arrays.Add(new ArrayEntry(name, dtype, shape, payload.Length, bytes.Length));
            payload.Write(bytes);
        }
        foreach (var (name, a) in c.Parameters) Add(ParamPrefix + name, Float32, a.Shape, AsBytes(a.Data));
        Add(GeneratorStateName, UInt8, [c.GeneratorState.Length], c.GeneratorState);
        Add(LossesName, Float32, [c.Losses.Length], AsBytes(c.Losses));
        if (c.BatchNorm is { } bn)
        {
            Add(BnMeanName, Float32, bn.Mean.Shape, AsBytes(bn.Mean.Data));
            Add(BnVarName, Float32, bn.Var.Shape, AsBytes(bn.Var.Data));
        }
        var s = c.Settings;
        var meta = new Metadata(FormatName, c.Step,
            new SettingsDto(s.Steps, s.NHidden, s.BatchSize, s.Lr, s.DecayStep, s.Seed, s.Backward.Name(), c.BackwardRevision, s.Model.Name),
            c.DataSha256, arrays, payload.Length);
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, WriteOptions);

        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"'{path}' is not a usable checkpoint path ({e.Message.TrimEnd('.')}).", e);
        }
        string dir = Path.GetDirectoryName(full)!;
        string temp = "";
        try
        {
            Directory.CreateDirectory(dir);
            temp = Path.Combine(dir, TempPrefix(full) + $"{Guid.NewGuid():N}.tmp");
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                void Put(ReadOnlySpan<byte> bytes)
                {
                    f.Write(bytes);
                    sha.AppendData(bytes);
                }
                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)json.Length);
                Put(header);
                Put(json);
                Put(payload.GetBuffer().AsSpan(0, (int)payload.Length));
                f.Write(sha.GetHashAndReset());
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            temp = "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot write the checkpoint {full}: {e.Message}", e);
        }
        finally
        {
            if (temp.Length > 0) try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The start of the name of every temporary file <see cref="Write"/> makes for <paramref name="fullPath"/>
    /// (".NAME."), so stale ones left by a killed run can be found.</summary>
    public static string TempPrefix(string fullPath) => $".{Path.GetFileName(fullPath)}.";

    public static Checkpoint Read(string path)
    {
        byte[] file;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Span<byte> head = stackalloc byte[HeaderSize];
            int n = f.ReadAtLeast(head, HeaderSize, throwOnEndOfStream: false);
            CheckHeader(head[..n], path);
            // A device or a pipe (sample --checkpoint /dev/zero) has no length to trust: only regular files are read whole.
            if (!f.CanSeek || f.Length < n || File.GetAttributes(path).HasFlag(FileAttributes.Device))
                throw new CheckpointException($"{path} is not a regular file; give --checkpoint a checkpoint file.");
            if (f.Length > Array.MaxLength)
                throw Corrupt(path, $"{f.Length:N0} bytes, more than this program can read");
            file = new byte[f.Length];
            head[..n].CopyTo(file);
            f.ReadExactly(file.AsSpan(n));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path}: no checkpoint there (file not found).", e);
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointException($"{path}: cannot read the checkpoint (it changed while being read).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read the checkpoint ({e.Message.TrimEnd('.')}).", e);
        }
        return Parse(file, path);
    }

    /// <summary>What is at <paramref name="path"/>: nothing, one of our checkpoints (possibly damaged), or something else.</summary>
    public static FileKind KindOf(string path)
    {
        if (Directory.Exists(path)) return FileKind.Foreign;
        if (!File.Exists(path)) return FileKind.Missing;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> head = stackalloc byte[Magic.Length];
        int n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..n].SequenceEqual(Magic.AsSpan(0, n)) && n > 0 ? FileKind.Ours : FileKind.Foreign;
    }

    public enum FileKind { Missing, Ours, Foreign }

    /// <summary>The magic and the version in the first bytes of a file (<paramref name="head"/>, up to 16 bytes).</summary>
    private static void CheckHeader(ReadOnlySpan<byte> head, string path)
    {
        if (head.Length < Magic.Length)
        {
            if (head.Length > 0 && head.SequenceEqual(Magic.AsSpan(0, head.Length))) throw Truncated(path);
            throw NotOurs(path);
        }
        if (!head[..Magic.Length].SequenceEqual(Magic)) throw NotOurs(path);
        if (head.Length < HeaderSize) throw Truncated(path);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
        if (version is not (1 or FormatVersion))
            throw new CheckpointException($"{path} is a ManualVsAuto checkpoint of format version {version}; this program reads versions 1 and {FormatVersion}.");
    }

    public static Checkpoint Parse(byte[] file, string path)
    {
        CheckHeader(file.AsSpan(0, Math.Min(file.Length, HeaderSize)), path);
        int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        long jsonLength = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        long tail = version == FormatVersion ? ChecksumSize : 0;
        if (jsonLength > MaxMetadataLength) throw Corrupt(path, "its metadata length is out of range");
        if (file.Length < HeaderSize + jsonLength + tail) throw Truncated(path);
        var json = file.AsSpan(HeaderSize, (int)jsonLength);

        if (version == FormatVersion)
        {
            // Every byte is covered: a damaged file is refused here, before its metadata is even parsed.
            var body = file.AsSpan(0, file.Length - ChecksumSize);
            if (!SHA256.HashData(body).AsSpan().SequenceEqual(file.AsSpan(file.Length - ChecksumSize)))
                throw ShorterThanItSays(json, file.Length) ? Truncated(path) : Corrupt(path, "it does not match its checksum");
            var meta = Deserialize<Metadata>(json, path);
            return Build(path, version, meta.Format, meta.Step, meta.Settings, meta.DataSha256, meta.Arrays, meta.PayloadLength,
                file.AsMemory(HeaderSize + (int)jsonLength, file.Length - HeaderSize - (int)jsonLength - ChecksumSize));
        }

        var v1 = Deserialize<MetadataV1>(json, path);
        var payload = file.AsMemory(HeaderSize + (int)jsonLength);
        if (payload.Length < v1.PayloadLength) throw Truncated(path);
        if (!IsSha256(v1.PayloadSha256) || Convert.ToHexStringLower(SHA256.HashData(payload.Span)) != v1.PayloadSha256)
            throw Corrupt(path, "the data does not match its checksum");
        var s = v1.Settings;
        var settings = new SettingsDto(s.Steps, s.Hidden, s.BatchSize, s.Lr, s.DecayStep, s.Seed, s.Backward,
            s.BackwardRevision ?? 1, s.Model ?? ModelKinds.Mlp.Name); // files before the WaveNet were the MLP's
        return Build(path, version, v1.Format, v1.Step, settings, v1.DataSha256, v1.Arrays, v1.PayloadLength, payload);
    }

    /// <summary>Whether the (unverified) metadata gives a payload longer than the file has room for: the likely reason
    /// a checksum fails is then a file written or copied in part, which the message says.</summary>
    private static bool ShorterThanItSays(ReadOnlySpan<byte> json, long fileLength)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("payloadLength"u8) && reader.Read()
                    && reader.TryGetInt64(out long payload))
                    return fileLength < HeaderSize + json.Length + payload + ChecksumSize;
        }
        catch (JsonException)
        {
        }
        return false;
    }

    private static T Deserialize<T>(ReadOnlySpan<byte> json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, ReadOptions) ?? throw new JsonException("null metadata");
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"its metadata is malformed: {FirstSentence(e.Message)}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or FormatException)
        {
            throw Corrupt(path, "its metadata is malformed", e);
        }
    }

    /// <summary>Checks every field against the model the settings describe, then copies the arrays out.</summary>
    private static Checkpoint Build(string path, int version, string format, int step, SettingsDto s, string dataSha256,
        List<ArrayEntry> arrays, long payloadLength, ReadOnlyMemory<byte> payload)
    {
        if (format != FormatName) throw Corrupt(path, $"its format is '{format}', not '{FormatName}'");
        if (!BackwardKinds.TryParse(s.Backward, out var kind)) throw Corrupt(path, $"unknown backward '{s.Backward}'");
        if (!ModelKinds.TryParse(s.Model, out var model)) throw Corrupt(path, $"unknown model '{s.Model}'");
        var settings = new TrainingSettings(s.Steps, s.Hidden, s.BatchSize, s.Lr, s.DecayStep, s.Seed, kind, model);
        if (settings.Problem() is { } problem) throw Corrupt(path, $"its settings are out of range: {problem}");
        int revision = s.BackwardRevision;
        if (revision < 1 || revision > kind.Revision(model)) throw Corrupt(path, $"unknown backward revision {revision}");
        if (step < 0 || step > settings.Steps) throw Corrupt(path, $"step {step} is not from 0 to the run's {settings.Steps} steps");
        if (!IsSha256(dataSha256)) throw Corrupt(path, "its data sha256 is not 64 hexadecimal digits");
        if (payloadLength != payload.Length) throw payloadLength > payload.Length ? Truncated(path) : Corrupt(path, "unexpected bytes after the data");

        // The arrays the model needs, in the order they are written, each with its exact shape; they tile the payload.
        var expected = CheckpointLayout.State(settings).Select(x => (ParamPrefix + x.Name, Float32, x.Shape)).ToList();
        expected.Add((GeneratorStateName, UInt8, [CheckpointLayout.GeneratorStateSize]));
        expected.Add((LossesName, Float32, [step]));
        if (CheckpointLayout.CalibrationShape(settings) is { } bnShape && arrays.Count == expected.Count + 2)
        {
            expected.Add((BnMeanName, Float32, bnShape));
            expected.Add((BnVarName, Float32, bnShape));
        }
        if (arrays.Count != expected.Count || arrays.Zip(expected).Any(x => x.First.Name != x.Second.Item1))
            throw Corrupt(path, $"it holds the arrays {Names(arrays.Select(a => a.Name))}; a {model.Name} checkpoint at step {step} with n_hidden {settings.NHidden} holds {Names(expected.Select(e => e.Item1))}");
        long offset = 0;
        foreach (var (a, (name, dtype, shape)) in arrays.Zip(expected))
        {
            if (a.Dtype != dtype) throw Corrupt(path, $"array '{name}' is {a.Dtype}, not {dtype}");
            if (!a.Shape.SequenceEqual(shape))
                throw Corrupt(path, $"array '{name}' has shape ({string.Join(", ", a.Shape)}); the model needs ({string.Join(", ", shape)})");
            long bytes = checked(shape.Aggregate(1L, (x, y) => checked(x * y)) * (dtype == Float32 ? 4 : 1));
            if (a.Offset != offset || a.Length != bytes || offset + bytes > payload.Length)
                throw Corrupt(path, $"array '{name}' is not where its size puts it (offset {a.Offset}, {a.Length} bytes; expected offset {offset}, {bytes} bytes)");
            offset += bytes;
        }
        if (offset != payload.Length) throw Corrupt(path, "unexpected bytes after the data");

        var byName = arrays.ToDictionary(a => a.Name);
        byte[] Bytes(string name) => payload.Span.Slice((int)byName[name].Offset, (int)byName[name].Length).ToArray();
        StoredArray Floats(string name) => new(byName[name].Shape, MemoryMarshal.Cast<byte, float>(Bytes(name)).ToArray());
        var parameters = arrays.Where(a => a.Name.StartsWith(ParamPrefix, StringComparison.Ordinal))
            .Select(a => (a.Name[ParamPrefix.Length..], Floats(a.Name))).ToList();
        var losses = MemoryMarshal.Cast<byte, float>(Bytes(LossesName)).ToArray();
        BatchNormStats? bn = byName.ContainsKey(BnMeanName) ? new BatchNormStats(Floats(BnMeanName), Floats(BnVarName)) : null;
        return new Checkpoint(settings, step, dataSha256, parameters, Bytes(GeneratorStateName), losses, bn)
        {
            BackwardRevision = revision,
            FileFormat = version,
        };
    }

    /// <summary>A full sha256 in lowercase hex, as <see cref="Data.NamesFile"/> computes it.</summary>
    public static bool IsSha256(string? s) => s is { Length: 64 } && s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    private static string Names(IEnumerable<string> names) => string.Join(", ", names);

    private static string FirstSentence(string s)
    {
        s = s.Split('\n', 2)[0].Trim();
        int cut = s.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? s[..cut] : s).TrimEnd('.');
    }

    private const string FormatName = "ManualVsAuto checkpoint";
    private const string ParamPrefix = "param.";
    private const string GeneratorStateName = "generator_state", LossesName = "losses", BnMeanName = "bnmean", BnVarName = "bnvar";
    private const string Float32 = "float32", UInt8 = "uint8";

    private static CheckpointException NotOurs(string path) => new($"{path} is not a ManualVsAuto checkpoint.");

    private static CheckpointException Truncated(string path) =>
        new($"{path} is truncated: an incomplete ManualVsAuto checkpoint (was it copied or written only in part?).");

    private static CheckpointException Corrupt(string path, string why, Exception? inner = null) =>
        new($"{path} is a corrupt ManualVsAuto checkpoint ({why}).", inner);

    private static ReadOnlySpan<byte> AsBytes(float[] a) => MemoryMarshal.AsBytes(a.AsSpan());

    private static readonly JsonSerializerOptions WriteOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Strict: every field present and of its type, none unknown or twice, no nulls where a value belongs.</summary>
    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        AllowDuplicateProperties = false,
    };

    private sealed record ArrayEntry(string Name, string Dtype, long[] Shape, long Offset, long Length);

    private sealed record SettingsDto(int Steps, int Hidden, int BatchSize, double Lr, int DecayStep, ulong Seed, string Backward, int BackwardRevision, string Model);

    private sealed record Metadata(string Format, int Step, SettingsDto Settings, string DataSha256, List<ArrayEntry> Arrays, long PayloadLength);

    /// <param name="BackwardRevision">Absent in files written before it was recorded: revision 1.</param>
    /// <param name="Model">Absent in files written before the WaveNet: the MLP.</param>
    private sealed record SettingsDtoV1(int Steps, int Hidden, int BatchSize, double Lr, int DecayStep, ulong Seed, string Backward,
        int? BackwardRevision = null, string? Model = null);

    private sealed record MetadataV1(string Format, int Step, SettingsDtoV1 Settings, string DataSha256, List<ArrayEntry> Arrays,
        long PayloadLength, string PayloadSha256);
}
