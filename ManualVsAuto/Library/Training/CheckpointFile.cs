using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ManualVsAuto.Model;

namespace ManualVsAuto.Training;

/// <summary>
/// The checkpoint file format, version 1, self-describing and little-endian:
/// <code>
///   8 bytes   magic "MVACKPT\0"
///   uint32    format version (1)
///   uint32    metadata length L
///   L bytes   metadata: UTF-8 JSON (settings, step, data sha256, and for each array its name, shape,
///             byte offset and length in the payload; the payload's length and sha256)
///   payload   the arrays' raw bytes (float32, generator state as bytes), back to back
/// </code>
/// A file is written whole to a temporary file next to the target, flushed to disk, then renamed over it,
/// so a crash or Ctrl+C mid-write leaves the previous checkpoint intact. Reading checks the magic, the version,
/// every length and the payload's sha256, and fails with a <see cref="CheckpointException"/> naming the problem.
/// </summary>
public static class CheckpointFile
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "MVACKPT\0"u8.ToArray();
    private const int HeaderSize = 16;

    public static void Write(string path, Checkpoint c)
    {
        var payload = new MemoryStream();
        var arrays = new List<ArrayEntry>();
        void Add(string name, string dtype, long[] shape, ReadOnlySpan<byte> bytes)
        {
            arrays.Add(new ArrayEntry(name, dtype, shape, payload.Length, bytes.Length));
            payload.Write(bytes);
        }
        foreach (var (name, a) in c.Parameters) Add(ParamPrefix + name, "float32", a.Shape, AsBytes(a.Data));
        Add("generator_state", "uint8", [c.GeneratorState.Length], c.GeneratorState);
        Add("losses", "float32", [c.Losses.Length], AsBytes(c.Losses));
        if (c.BatchNorm is { } bn)
        {
            Add("bnmean", "float32", bn.Mean.Shape, AsBytes(bn.Mean.Data));
            Add("bnvar", "float32", bn.Var.Shape, AsBytes(bn.Var.Data));
        }
        var bytes = payload.ToArray();
        var s = c.Settings;
        var meta = new Metadata("ManualVsAuto checkpoint", c.Step,
            new SettingsDto(s.Steps, s.Hidden, s.BatchSize, s.Lr, s.DecayStep, s.Seed, s.Backward.Name(), c.BackwardRevision, s.Model.Name),
            c.DataSha256, arrays, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, JsonOptions);

        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)json.Length);
                f.Write(header);
                f.Write(json);
                f.Write(bytes);
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
            if (temp.Length > 0) try { File.Delete(temp); } catch (IOException) { }
        }
    }

    public static Checkpoint Read(string path)
    {
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path}: no checkpoint there (file not found).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read the checkpoint ({e.Message}).", e);
        }
        return Parse(file, path);
    }

    /// <summary>What is at <paramref name="path"/>: nothing, one of our checkpoints (possibly damaged), or something else.</summary>
    public static FileKind Probe(string path)
    {
        if (Directory.Exists(path)) return FileKind.Foreign;
        if (!File.Exists(path)) return FileKind.Missing;
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[Magic.Length];
        int n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..n].SequenceEqual(Magic.AsSpan(0, n)) && n > 0 ? FileKind.Ours : FileKind.Foreign;
    }

    public enum FileKind { Missing, Ours, Foreign }

    public static Checkpoint Parse(byte[] file, string path)
    {
        if (file.Length < Magic.Length)
        {
            if (file.Length > 0 && file.AsSpan().SequenceEqual(Magic.AsSpan(0, file.Length))) throw Truncated(path);
            throw NotOurs(path);
        }
        if (!file.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw NotOurs(path);
        if (file.Length < HeaderSize) throw Truncated(path);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        if (version != FormatVersion)
            throw new CheckpointException($"{path} is a ManualVsAuto checkpoint of format version {version}; this program reads version {FormatVersion}.");
        long jsonLength = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        if (file.Length < HeaderSize + jsonLength) throw Truncated(path);

        Metadata meta;
        try
        {
            meta = JsonSerializer.Deserialize<Metadata>(file.AsSpan(HeaderSize, (int)jsonLength), JsonOptions)
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw Corrupt(path, "unreadable metadata", e);
        }
        long start = HeaderSize + jsonLength;
        if (file.Length < start + meta.PayloadLength) throw Truncated(path);
        if (file.Length > start + meta.PayloadLength) throw Corrupt(path, "unexpected bytes after the data");
        var payload = new ArraySegment<byte>(file, (int)start, (int)meta.PayloadLength);
        if (Convert.ToHexStringLower(SHA256.HashData(payload)) != meta.PayloadSha256) throw Corrupt(path, "the data does not match its checksum");

        try
        {
            var arrays = meta.Arrays.ToDictionary(a => a.Name);
            byte[] Bytes(string name, string dtype)
            {
                if (!arrays.TryGetValue(name, out var a)) throw Corrupt(path, $"no '{name}' array");
                if (a.Dtype != dtype || a.Offset < 0 || a.Length < 0 || a.Offset + a.Length > payload.Count
                    || a.Shape.Aggregate(1L, (x, y) => x * y) * (dtype == "float32" ? 4 : 1) != a.Length)
                    throw Corrupt(path, $"array '{name}' is malformed");
                return payload.Slice((int)a.Offset, (int)a.Length).ToArray();
            }
            StoredArray Floats(string name) => new(arrays[name].Shape, MemoryMarshal.Cast<byte, float>(Bytes(name, "float32")).ToArray());

            var s = meta.Settings;
            if (!BackwardKinds.TryParse(s.Backward, out var kind)) throw Corrupt(path, $"unknown backward '{s.Backward}'");
            // Checkpoints written before the WaveNet have no model: they are the MLP's.
            if (!ModelKinds.TryParse(s.Model ?? ModelKinds.Mlp.Name, out var model)) throw Corrupt(path, $"unknown model '{s.Model}'");
            var settings = new TrainingSettings(s.Steps, s.Hidden, s.BatchSize, s.Lr, s.DecayStep, s.Seed, kind, model);
            var parameters = meta.Arrays.Where(a => a.Name.StartsWith(ParamPrefix, StringComparison.Ordinal))
                .Select(a => (a.Name[ParamPrefix.Length..], Floats(a.Name))).ToList();
            var losses = MemoryMarshal.Cast<byte, float>(Bytes("losses", "float32")).ToArray();
            if (losses.Length != meta.Step) throw Corrupt(path, $"{losses.Length} losses for {meta.Step} steps");
            BatchNormStats? bn = arrays.ContainsKey("bnmean") ? new BatchNormStats(Floats("bnmean"), Floats("bnvar")) : null;
            return new Checkpoint(settings, meta.Step, meta.DataSha256, parameters, Bytes("generator_state", "uint8"), losses, bn)
            {
                BackwardRevision = s.BackwardRevision ?? 1,
            };
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or NullReferenceException)
        {
            throw Corrupt(path, "inconsistent metadata", e);
        }
    }

    private const string ParamPrefix = "param.";

    private static CheckpointException NotOurs(string path) => new($"{path} is not a ManualVsAuto checkpoint.");

    private static CheckpointException Truncated(string path) =>
        new($"{path} is truncated: an incomplete ManualVsAuto checkpoint (was it copied or written only in part?).");

    private static CheckpointException Corrupt(string path, string why, Exception? inner = null) =>
        new($"{path} is a corrupt ManualVsAuto checkpoint ({why}).", inner);

    private static ReadOnlySpan<byte> AsBytes(float[] a) => MemoryMarshal.AsBytes(a.AsSpan());

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private sealed record ArrayEntry(string Name, string Dtype, long[] Shape, long Offset, long Length);

    /// <param name="BackwardRevision">Absent (null) in files written before it was recorded: revision 1.</param>
    /// <param name="Model">Absent (null) in files written before WaveNet: the MLP.</param>
    private sealed record SettingsDto(int Steps, int Hidden, int BatchSize, double Lr, int DecayStep, ulong Seed, string Backward, int? BackwardRevision, string? Model);

    private sealed record Metadata(string Format, int Step, SettingsDto Settings, string DataSha256, List<ArrayEntry> Arrays,
        long PayloadLength, string PayloadSha256);
}
