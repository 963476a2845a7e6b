// A two-layer net with a softmax cross-entropy, its backward written by hand, checked against autograd in one call.
using ManualVsAuto.Checking;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

const long N = 64, D = 2, H = 16, C = 3; // examples, input features, hidden units, classes
var g = new Generator(42);
var x = randn(N, D, generator: g);
var y = randint(0, C, N, generator: g);
var W1 = (randn(D, H, generator: g) * 0.5).requires_grad_();
var b1 = (randn(H, generator: g) * 0.1).requires_grad_();
var W2 = (randn(H, C, generator: g) * 0.5).requires_grad_();
var b2 = (randn(C, generator: g) * 0.1).requires_grad_();

var check = GradientCheck.Of(
    // The inputs by name: those that require grad are parameters, each must get a gradient. (Indices stay in the closure.)
    new() { ["x"] = x, ["W1"] = W1, ["b1"] = b1, ["W2"] = W2, ["b2"] = b2 },
    // The forward: each step is named and reads its inputs by name, so a wrong row can be told from one that only
    // inherits a mistake from upstream. It returns the loss.
    m =>
    {
        m.Step("hpre", v => v("x").matmul(v("W1")) + v("b1"));
        m.Step("h", v => F.relu(v("hpre")));
        m.Step("logits", v => v("h").matmul(v("W2")) + v("b2"));
        m.Step("probs", v => F.softmax(v("logits"), 1));
        var logprobs = m.Step("logprobs", v => v("probs").log());
        return -logprobs.index(arange(N), y).mean();
    },
    // The backward by hand, from the forward's values by name, returning each gradient by name in backward order.
    // Written with the values it is given (the dtype too), it also runs on float64 copies: the check reruns it there
    // to decide any float32 row that is not allclose.
    v =>
    {
        var (probs, h) = (v("probs"), v("h"));
        var dlogprobs = zeros_like(probs).index_put_(full([N], -1.0 / N, dtype: probs.dtype), arange(N), y);
        var dprobs = dlogprobs / probs;
        var dlogits = (dprobs - (dprobs * probs).sum(1, keepdim: true)) * probs;
        var dh = dlogits.matmul(v("W2").t());
        var dhpre = dh.masked_fill(h.le(0), 0);
        return [("logprobs", dlogprobs), ("probs", dprobs), ("logits", dlogits), ("h", dh),
                ("W2", h.t().matmul(dlogits)), ("b2", dlogits.sum(0, keepdim: false)),
                ("hpre", dhpre), ("W1", v("x").t().matmul(dhpre)), ("b1", dhpre.sum(0, keepdim: false))];
    },
    // Also finite differences of the loss in float64, for every input given a gradient (gradcheck's defaults).
    new() { FiniteDifferences = new() });

Console.Write(check.ToText());
return check.Passes(RequiredLevel.Exact) ? 0 : 1;
