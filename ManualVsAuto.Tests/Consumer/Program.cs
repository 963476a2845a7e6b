// A two-layer net with a softmax cross-entropy, its backward written by hand, checked against autograd.
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

// Forward: each Step is named and reads its inputs by name, so a wrong row can be told from one that only
// inherits a mistake from upstream. (Track(name, tensor) registers a tensor without its inputs.)
var check = new GradientCheck();
check.Step("W1", _ => W1); check.Step("b1", _ => b1); check.Step("W2", _ => W2); check.Step("b2", _ => b2);
var hpre = check.Step("hpre", v => x.matmul(v("W1")) + v("b1"));
var h = check.Step("h", v => F.relu(v("hpre")));
var logits = check.Step("logits", v => v("h").matmul(v("W2")) + v("b2"));
var probs = check.Step("probs", v => F.softmax(v("logits"), 1));
var logprobs = check.Step("logprobs", v => v("probs").log());
var loss = -logprobs.index(arange(N), y).mean();
check.Backward(loss);

// Backward by hand, step by step in reverse, then hand each gradient in by name.
using (no_grad())
{
    var dlogprobs = zeros_like(logprobs).index_put_(full([N], -1.0 / N), arange(N), y);
    var dprobs = dlogprobs / probs;
    var dlogits = (dprobs - (dprobs * probs).sum(1, keepdim: true)) * probs;
    var dh = dlogits.matmul(W2.t());
    var dW2 = h.t().matmul(dlogits);
    var db2 = dlogits.sum(0, keepdim: false);
    var dhpre = dh.masked_fill(h.le(0), 0);
    var dW1 = x.t().matmul(dhpre);
    var db1 = dhpre.sum(0, keepdim: false);

    check.Compare("logprobs", dlogprobs);
    check.Compare("probs", dprobs);
    check.Compare("logits", dlogits);
    check.Compare("h", dh);
    check.Compare("W2", dW2);
    check.Compare("b2", db2);
    check.Compare("hpre", dhpre);
    check.Compare("W1", dW1);
    check.Compare("b1", db1);
}

Console.Write(check.ToText());
return check.Passes(RequiredLevel.Exact) ? 0 : 1;
