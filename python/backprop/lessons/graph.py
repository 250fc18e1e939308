"""graph: the seed network as the computational graph backward walks, each node labelled with its
local gradient formula.

`to_dot(tensor, params=None)` and `render(tensor, path)` are backprop.autograd.graph's, with each
node's formula added to its label.
"""

import shutil

from ..autograd import graph as _graph

# The local backward of each node, in terms of dy (the gradient arriving at the node's output).
FORMULAS = {
    "AccumulateGrad": "grad += dy",
    "AddmmBackward0": "y = b + x W^T\ndx = dy W,  dW = dy^T x,  db = sum_batch dy",
    "LinearActivationBackward0": "y = f(x W^T + b)\ndz = dy * f'(z),  dx = dz W,  dW = dz^T x,  db = sum_batch dz",
    "BmmBackward0": "C = A B\ndA = dC B^T,  dB = A^T dC",
    "ReluBackward0": "y = max(x, 0)\ndx = dy * [x > 0]",
    "LeakyReluBackward0": "y = max(x, a x)\ndx = dy * (1 if x > 0 else a)",
    "SigmoidBackward0": "y = sigmoid(x)\ndx = dy * y (1 - y)",
    "TanhBackward0": "y = tanh(x)\ndx = dy * (1 - y^2)",
    "GeluBackward0": "y = x Phi(x)\ndx = dy * (Phi(x) + x phi(x))",
    "SoftplusBackward0": "y = log(1 + e^x)\ndx = dy * sigmoid(x)",
    "ExpBackward0": "y = e^x\ndx = dy * y",
    "LogBackward0": "y = log x\ndx = dy / x",
    "SqrtBackward0": "y = sqrt(x)\ndx = dy / (2 y)",
    "SinBackward0": "y = sin x\ndx = dy * cos x",
    "CosBackward0": "y = cos x\ndx = -dy * sin x",
    "AbsBackward0": "y = |x|\ndx = dy * sign(x)",
    "NegBackward0": "y = -x\ndx = -dy",
    "AddBackward0": "y = a + b\nda = dy,  db = dy",
    "SubBackward0": "y = a - b\nda = dy,  db = -dy",
    "MulBackward0": "y = a b\nda = dy b,  db = dy a",
    "DivBackward0": "y = a / b\nda = dy / b,  db = -dy a / b^2",
    "PowBackward1": "y = a^b\nda = dy b a^(b-1),  db = dy y log a",
    "ClampBackward1": "y = clamp(x, lo, hi)\ndx = dy * [lo <= x <= hi]",
    "MaximumBackward0": "y = max(a, b)\nda = dy [a > b],  db = dy [b > a]",
    "MinimumBackward0": "y = min(a, b)\nda = dy [a < b],  db = dy [b < a]",
    "WhereBackward0": "y = c ? a : b\nda = dy [c],  db = dy [not c]",
    "SumBackward1": "y = sum x\ndx = dy, broadcast to x's shape",
    "MeanBackward1": "y = mean x\ndx = dy / n, broadcast to x's shape",
    "MaxBackward0": "y = max x\ndx = dy at the argmax, 0 elsewhere",
    "MinBackward0": "y = min x\ndx = dy at the argmin, 0 elsewhere",
    "AmaxBackward0": "y = amax x\ndx = dy shared among the maxima",
    "AminBackward0": "y = amin x\ndx = dy shared among the minima",
    "LogsumexpBackward0": "y = log sum e^x\ndx = dy * softmax(x)",
    "SoftmaxBackward0": "y = softmax(x)\ndx = y * (dy - sum(dy * y))",
    "LogSoftmaxBackward0": "y = log softmax(x)\ndx = dy - softmax(x) sum(dy)",
    "CrossEntropyLossBackward0": "l_i = -log softmax(z_i)[t_i]\ndz_i = dl_i (softmax(z_i) - onehot(t_i))",
    "NllLossBackward0": "l_i = -x_i[t_i]\ndx_i = -dl_i onehot(t_i)",
    "BinaryCrossEntropyWithLogitsBackward0": "l = BCE(sigmoid(z), t)\ndz = dl (sigmoid(z) - t)",
    "NativeDropoutBackward0": "y = x m / (1 - p)\ndx = dy m / (1 - p)",
    "ViewBackward0": "y = x.view(shape)\ndx = dy.view(x's shape)",
    "PermuteBackward0": "y = x.permute(p)\ndx = dy.permute(p^-1)",
    "ExpandBackward0": "y = x.expand(shape)\ndx = dy summed over the expanded dims",
    "SliceBackward0": "y = x[slice]\ndx = zeros with dy in the slice",
    "CatBackward0": "y = cat(a, b, ...)\nda, db, ... = the slices of dy",
    "IndexSelectBackward0": "y = x[idx]\ndx = dy scatter-added at idx",
    "GatherBackward0": "y = gather(x, idx)\ndx = dy scatter-added at idx",
    "IndexPutBackward0": "y = x with y[idx] = v\ndx = dy, 0 at idx;  dv = dy[idx]",
    "CloneBackward0": "y = x\ndx = dy",
    "ToCopyBackward0": "y = x.to(dtype)\ndx = dy.to(x's dtype)",
}


def describe(tensor, params=None):
    """The graph below `tensor` as a list of {"id", "name", "formula", "param", "next"} dicts."""
    out = []
    for n in _graph.describe(tensor, params):
        param = f"{n['param']}\n{n['shape']}" if n["param"] else None
        out.append({"id": n["id"], "name": n["name"], "formula": _formula(n), "param": param, "next": n["next"]})
    return out


def _formula(node):
    return FORMULAS.get(node["name"], "see its backward in cpp/src/ops")


_TITLE = "backward runs from the output (top) to the leaves (bottom); dy is the gradient arriving at a node"


def to_dot(tensor, params=None):
    """The computational graph below `tensor` in the DOT language (backprop.autograd.graph.to_dot),
    each node labelled with its local gradient formula."""
    return _graph.to_dot(tensor, params, notes=_formula, title=_TITLE)


def render(tensor, path, params=None):
    """Writes the graph to `path` (backprop.autograd.graph.render), labelled as to_dot labels it."""
    return _graph.render(tensor, path, params, notes=_formula, title=_TITLE)


def run(report):
    import backprop as bp
    from backprop import nn

    from .chain_rule import SeedNet

    bp.manual_seed(0)
    net = SeedNet()
    x, t = bp.randn(8, 3), bp.randn(8, 2)
    loss = nn.functional.mse_loss(net(x), t)
    nodes = describe(loss, net.named_parameters())
    report.say("the seed network x -> Linear(3, 4) -> ReLU -> Linear(4, 2) -> MSE, as backward sees it")
    report.table(("node", "op", "local gradient"),
                 [(n["id"], n["param"].replace("\n", " ") if n["param"] else n["name"],
                   n["formula"].replace("\n", ";  ")) for n in nodes])
    source = to_dot(loss, net.named_parameters())
    dot_path = render(loss, report.path(".dot"), net.named_parameters())
    report.files.append(dot_path)
    report.figures["nodes"] = nodes
    report.figures["dot"] = source
    leaves = sorted(n["param"].split("\n")[0] for n in nodes if n["param"])
    report.claim(f"the graph has {len(nodes)} nodes and ends in one AccumulateGrad per parameter ({', '.join(leaves)})",
                 leaves == sorted(name for name, _ in net.named_parameters()))
    if shutil.which("dot") is None:
        report.say(f"Graphviz's dot is not on PATH: skipping {report.name}.png (apt-get install graphviz, then "
                   f"dot -Tpng {dot_path} -o {report.path('.png')})")
        return
    report.files.append(render(loss, report.path(".png"), net.named_parameters()))
