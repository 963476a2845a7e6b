using System.Reflection;
using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The float tensors a delegate's closure holds (captured variables, arrays and lists of tensors, enclosing scopes,
/// captured delegates, objects of the user's classes, three levels deep), swapped for float64 copies until disposed,
/// so a step or a backward written for float32 runs in float64. A module in the closure keeps float32 parameters that
/// cannot be swapped: <see cref="Refusal"/> says so, and nothing should be run. Tensors reached only through static
/// fields or framework collections other than arrays and lists are not swapped (libtorch ends the process on a
/// float32 × float64 matmul).
/// </summary>
internal sealed class ClosureSwap : IDisposable
{
    private readonly List<Action> restore = [];
    private readonly List<Tensor> copies = [];

    public string? Refusal { get; private set; }

    public static ClosureSwap Of(Delegate f)
    {
        var swap = new ClosureSwap();
        if (f.Target is { } target) swap.Visit(target, depth: 0, new HashSet<object>(ReferenceEqualityComparer.Instance));
        return swap;
    }

    private void Visit(object owner, int depth, HashSet<object> seen)
    {
        if (!seen.Add(owner) || Refusal is not null) return;
        var type = owner.GetType();
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            object? value = field.GetValue(owner);
            switch (value)
            {
                case Tensor t when NeedsCopy(t):
                    var copy = Copy(t);
                    field.SetValue(owner, copy);
                    restore.Add(() => field.SetValue(owner, t));
                    break;
                case IList<Tensor> items when !items.IsReadOnly || items is Tensor[]: // arrays and lists of tensors
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (items[i] is not { } old || !NeedsCopy(old)) continue;
                        int j = i;
                        items[j] = Copy(old);
                        restore.Add(() => items[j] = old);
                    }
                    break;
                case nn.Module m:
                    Refusal = $"holds a module ({m.GetType().Name}) whose parameters stay float32: make its parameters steps";
                    return;
                case Delegate d when depth < 3 && d.Target is { } target:
                    Visit(target, depth + 1, seen); // a captured lambda or local function: its own captures
                    break;
                case { } nested when depth < 3 && (IsCompilerGenerated(nested.GetType()) || IsUsers(nested.GetType())):
                    Visit(nested, depth + 1, seen); // an enclosing scope's captured variables, or an object of the user's holding tensors
                    break;
            }
        }
    }

    private static bool NeedsCopy(Tensor t) => !t.IsInvalid && t.is_floating_point() && t.dtype != ScalarType.Float64;

    private Tensor Copy(Tensor t)
    {
        var c = t.detach().to_type(ScalarType.Float64).DetachFromDisposeScope();
        copies.Add(c);
        return c;
    }

    private static bool IsCompilerGenerated(Type t) => t.IsDefined(typeof(CompilerGeneratedAttribute), false);

    /// <summary>A class of the user's (a record of parameters, a model class that is not a module), not the framework's or this library's.</summary>
    private static bool IsUsers(Type t) =>
        t.IsClass && !t.IsArray && t.Assembly != typeof(ClosureSwap).Assembly &&
        (t.Namespace is not { } ns || !(ns.StartsWith("System", StringComparison.Ordinal) || ns.StartsWith("TorchSharp", StringComparison.Ordinal) || ns.StartsWith("Microsoft", StringComparison.Ordinal)));

    public void Dispose()
    {
        foreach (var r in restore) r();
        foreach (var c in copies) c.Dispose();
    }
}
