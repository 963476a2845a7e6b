using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The shared mutation and alias detector: bitwise, NaN-aware, naming the first changed element.</summary>
public class InputMutationTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    [Fact]
    public void Untouched_tensors_are_unchanged_even_with_NaNs()
    {
        var x = tensor(new[] { 1f, float.NaN, -0f });
        var g = randn(3, 4);
        using var before = InputMutation.Snapshot([("x", x), ("g", g)]);
        _ = x * 2 + g.sum();
        Assert.Empty(before.Changed());
    }

    [Fact]
    public void An_in_place_write_names_the_tensor_the_element_and_both_values()
    {
        var x = tensor(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        var g = ones(3);
        using var before = InputMutation.Snapshot([("x", x), ("g", g)]);
        x[1, 2] = tensor(0.5);
        x[1, 1].add_(1);
        var c = Assert.Single(before.Changed());
        Assert.Equal("x", c.Name);
        Assert.Equal(2, c.Count);
        Assert.Equal(new long[] { 1, 1 }, c.FirstIndex);
        Assert.Equal(5.0, c.Before);
        Assert.Equal(6.0, c.After);
        Assert.Contains("2 of 6 elements changed; first at [1, 1]: 5 → 6", c.Text);
    }

    [Fact]
    public void Zero_to_negative_zero_and_one_NaN_to_another_are_changes()
    {
        var z = zeros(2);
        var n = tensor(new[] { float.NaN });
        using var before = InputMutation.Snapshot([("z", z), ("n", n)]);
        z[0] = tensor(-0f);
        n[0] = tensor(BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001))); // another NaN payload
        Assert.Equal(["z", "n"], before.Changed().Select(c => c.Name));
    }

    [Fact]
    public void A_disposed_tensor_is_a_change()
    {
        var a = ones(4);
        var b = ones(4);
        using var before = InputMutation.Snapshot([("a", a), ("b", b)]);
        b.Dispose();
        Assert.Equal("b was disposed", string.Join("; ", before.Changed().Select(c => c.Name + " " + c.Text)));
    }

    [Fact]
    public void The_same_tensor_a_view_and_a_detach_alias_an_input_but_a_clone_does_not()
    {
        var x = randn(3, 4);
        var y = randn(3, 4, dtype: ScalarType.Float64);
        using var before = InputMutation.Snapshot([("x", x), ("y", y)]);
        var aliases = before.Aliases([("same", x), ("view", x[1]), ("transposed", x.t()), ("detached", y.detach()), ("clone", x.clone()), ("new", x * 1)]);
        Assert.Equal(["same", "view", "transposed", "detached"], aliases.Select(a => a.Output));
        Assert.Equal(["x", "x", "x", "y"], aliases.Select(a => a.Input));
        Assert.Equal([true, false, false, false], aliases.Select(a => a.SameHandle));
    }

    [Fact]
    public void Snapshots_outlive_the_callers_dispose_scope()
    {
        var x = ones(3);
        InputMutation before;
        using (NewDisposeScope()) before = InputMutation.Snapshot([("x", x)]);
        using (before)
        {
            x[0] = tensor(2f);
            Assert.Equal("x", Assert.Single(before.Changed()).Name);
        }
    }
}
