"""vanishing: per-layer gradient norms at initialisation through 20 and 50 layers.

Each layer multiplies the gradient on its way back by its weights and its activation's slope.
Sigmoid's slope is at most 1/4 and tanh's drops below 1 away from 0, so with PyTorch's default
initialisation (weights of standard deviation 1/sqrt(3 fan_in)) the product shrinks
geometrically with depth. The right initialisation keeps the per-layer factor near 1 (Xavier with
the activation's gain, Kaiming for ReLU); residual connections and normalisation change the
product itself. Measured with GradFlow: the first hidden layer's weight-gradient norm over the
last one's, and the whole profile over depth.
"""

import math

import backprop as bp
from backprop import nn
from backprop.nn import init
from backprop.nn.utils import GradFlow

KINDS = ["sigmoid", "tanh", "relu", "relu+residual", "relu+batchnorm", "relu+layernorm"]
RIGHT_INIT = {
    "sigmoid": "Xavier, gain 1",
    "tanh": "Xavier, gain 5/3",
    "relu": "Kaiming (fan_in)",
    "relu+residual": "Kaiming, branch scaled by 1/sqrt(depth)",
    "relu+batchnorm": "Kaiming (fan_in)",
    "relu+layernorm": "Kaiming (fan_in)",
}


class Residual(nn.Module):
    """x + alpha * Linear(relu(x)): the pre-activation residual block."""

    def __init__(self, width, alpha):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.alpha = alpha

    def forward(self, x):
        return x + self.alpha * self.linear(bp.relu(x))


def right_init(linear, kind):
    if kind in ("sigmoid", "tanh"):
        init.xavier_uniform_(linear.weight, gain=init.calculate_gain(kind))
    else:
        init.kaiming_normal_(linear.weight, nonlinearity="relu")
    init.zeros_(linear.bias)


def build(kind, depth, width, right):
    """`depth` hidden layers of `kind`, then a Linear head to 10 classes; returns the model and the
    hidden Linear layers whose gradients are compared."""
    layers, hidden = [], []
    for _ in range(depth):
        if kind == "relu+residual":
            block = Residual(width, 1 / math.sqrt(depth) if right else 1.0)
            layers.append(block)
            lin = block.linear
        else:
            lin = nn.Linear(width, width)
            layers.append(lin)
            if kind == "relu+batchnorm":
                layers.append(nn.BatchNorm1d(width))
            elif kind == "relu+layernorm":
                layers.append(nn.LayerNorm(width))
            layers.append({"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}.get(kind, nn.ReLU)())
        if right:
            right_init(lin, kind)
        hidden.append(lin)
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    names = {id(m): n for n, m in model.named_modules()}
    return model, [names[id(m)] for m in hidden]


def profile(kind, depth, width, batch, right, seed=0):
    bp.manual_seed(seed)
    model, hidden = build(kind, depth, width, right)
    x, y = bp.randn(batch, width), bp.randint(0, 10, (batch,))
    with GradFlow(model, layers=hidden) as flow:
        nn.functional.cross_entropy(model(x), y).backward()
    norms = [v for _, v in flow.norms("weight")]
    return {"ratio": flow.ratio(), "status": flow.status(), "norms": norms, "first": norms[0], "last": norms[-1]}


def run(report):
    width, batch = (64, 64) if report.quick else (256, 256)
    depths = (20, 50)
    results = {}
    for kind in KINDS:
        for right in (False, True):
            for depth in depths:
                results[(kind, right, depth)] = profile(kind, depth, width, batch, right)
    report.say(f"first/last hidden-layer weight-gradient norm at initialisation, width {width}, batch {batch}, "
               f"float32, cross-entropy on random labels; < 1e-3 vanishing, > 1e3 exploding")
    rows = []
    for kind in KINDS:
        rows.append((kind, *[results[(kind, r, d)]["ratio"] for d in depths for r in (False, True)], RIGHT_INIT[kind]))
    report.table(("layers", "default 20", "right 20", "default 50", "right 50", "right init"), rows)
    report.figures["width"], report.figures["batch"] = width, batch
    report.figures["ratios"] = {
        kind: {f"{'right' if r else 'default'} init, {d} layers": results[(kind, r, d)]["ratio"]
               for d in depths for r in (False, True)} for kind in KINDS}
    report.figures["norms_50_layers"] = {
        kind: {"default": results[(kind, False, 50)]["norms"], "right": results[(kind, True, 50)]["norms"]}
        for kind in KINDS}
    report.figures["right_init"] = RIGHT_INIT

    sig = results[("sigmoid", False, 50)]
    report.claim(f"sigmoid, 50 layers, default init: the first layer's gradient vanishes "
                 f"(norm {sig['first']:.3g}, ratio {sig['ratio']:.3g})", sig["ratio"] < 1e-3)
    tanh_d, tanh_r = results[("tanh", False, 50)], results[("tanh", True, 50)]
    report.claim(f"tanh, 50 layers: ratio {tanh_d['ratio']:.3g} with the default init, {tanh_r['ratio']:.3g} "
                 f"with Xavier (gain 5/3)", tanh_r["ratio"] > 1e3 * tanh_d["ratio"])
    relu_r = results[("relu", True, 50)]
    report.claim(f"ReLU with Kaiming init keeps 50 layers healthy (ratio {relu_r['ratio']:.3g})",
                 relu_r["status"] == "healthy")
    plot(report, results, width)


def plot(report, results, width):
    plt = report.pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    floor = 1e-45
    for ax, right in zip(axes, (False, True)):
        for i, kind in enumerate(KINDS):
            norms = results[(kind, right, 50)]["norms"]
            ax.semilogy(range(1, len(norms) + 1), [max(v, floor) for v in norms], color=f"C{i}", lw=1.5, label=kind)
        ax.set_title(f"{'the right' if right else 'PyTorch default'} init", fontsize=10)
        ax.set_xlabel("hidden layer (input -> output)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("|dL/dW| at initialisation")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"gradient norm per layer, 50 layers of width {width} (0 is drawn at 1e-45)", fontsize=10)
    fig.tight_layout()
    report.save_figure(fig, plt)
