"""chain-rule: one derivative three ways, then every backward formula of a two-layer network by hand.

y = x**2 + 3x at x = 1 has dy/dx = 2x + 3 = 5. Finite differences approach it with an error that
depends on the step h and the precision; backward gives it exactly, because it applies the chain
rule to the exact local derivatives. Then the seed network x -> Linear -> ReLU -> Linear -> MSE:
each of its backward formulas computed in NumPy beside what backprop's backward produced.
"""

import numpy as np

import backprop as bp
from backprop import nn

class SeedNet(nn.Module):
    """The two-layer network of the lessons: z1 = x W1^T + b1, a1 = relu(z1), z2 = a1 W2^T + b2."""

    def __init__(self, n_in=3, n_hidden=4, n_out=2, dtype=None):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden, dtype=dtype)
        self.fc2 = nn.Linear(n_hidden, n_out, dtype=dtype)

    def forward(self, x):
        return self.fc2(bp.relu(self.fc1(x)))


def f(x):
    return x**2 + 3 * x


def derivative_table(steps):
    """dy/dx at x = 1 by backward and by forward/central differences, in float32 and float64."""
    out = {}
    for dtype in (bp.float32, bp.float64):
        key = str(dtype).split(".")[-1]
        x = bp.tensor([1.0], dtype=dtype, requires_grad=True)
        f(x).backward()
        row = {"backward": x.grad.item()}
        with bp.no_grad():
            for h in steps:
                x0 = bp.tensor([1.0], dtype=dtype)
                # Divided by the nominal h, as one writes it: x0 + h rounds in this precision.
                fwd = (f(x0 + h) - f(x0)) / h
                cen = (f(x0 + h) - f(x0 - h)) / (2 * h)
                row[f"forward h={h:g}"] = fwd.item()
                row[f"central h={h:g}"] = cen.item()
        out[key] = row
    return out


def by_hand(net, x, t):
    """The backward formulas of the seed network in NumPy, batch rows as samples (float64)."""
    W1, b1 = net.fc1.weight.detach().numpy(), net.fc1.bias.detach().numpy()
    W2, b2 = net.fc2.weight.detach().numpy(), net.fc2.bias.detach().numpy()
    X, T = x.numpy(), t.numpy()
    z1 = X @ W1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2.T + b2
    g = {}
    g["dL/dz2"] = 2 * (z2 - T) / z2.size  # L = mean((z2 - t)^2)
    g["dL/dW2"] = g["dL/dz2"].T @ a1  # = sum over the batch of dL/dz2 a1^T
    g["dL/db2"] = g["dL/dz2"].sum(0)
    g["dL/da1"] = g["dL/dz2"] @ W2  # = W2^T dL/dz2 per sample
    g["dL/dz1"] = g["dL/da1"] * (z1 > 0)  # ReLU'(z1) is 1 where z1 > 0, else 0
    g["dL/dW1"] = g["dL/dz1"].T @ X
    g["dL/db1"] = g["dL/dz1"].sum(0)
    return g


def by_backward(net, x, t):
    z1 = net.fc1(x)
    a1 = bp.relu(z1)
    z2 = net.fc2(a1)
    for v in (z1, a1, z2):
        v.retain_grad()
    nn.functional.mse_loss(z2, t).backward()
    grads = {"dL/dz2": z2.grad, "dL/dW2": net.fc2.weight.grad, "dL/db2": net.fc2.bias.grad, "dL/da1": a1.grad,
             "dL/dz1": z1.grad, "dL/dW1": net.fc1.weight.grad, "dL/db1": net.fc1.bias.grad}
    return {k: v.numpy() for k, v in grads.items()}


FORMULAS = {
    "dL/dz2": "2 (z2 - t) / n",
    "dL/dW2": "dL/dz2 a1^T",
    "dL/db2": "dL/dz2",
    "dL/da1": "W2^T dL/dz2",
    "dL/dz1": "dL/da1 * ReLU'(z1)",
    "dL/dW1": "dL/dz1 x^T",
    "dL/db1": "dL/dz1",
}


def run(report):
    steps = [10.0**-k for k in range(1, 11)]
    shown = [1e-2, 1e-4, 1e-6]
    d = derivative_table(steps)
    report.say("y = x**2 + 3x at x = 1: dy/dx = 2x + 3 = 5 by hand")
    keys = ["backward"] + [f"{kind} h={h:g}" for h in shown for kind in ("forward", "central")]
    rows = [(k, f"{d['float32'][k]:.8g}", abs(d["float32"][k] - 5), f"{d['float64'][k]:.15g}", abs(d["float64"][k] - 5))
            for k in keys]
    report.table(("method", "float32", "error", "float64", "error"), rows)
    report.figures["derivative"] = {"by_hand": 5.0, **d}
    report.claim("backward gives dy/dx = 5 exactly in float32 and float64",
                 d["float32"]["backward"] == 5.0 and d["float64"]["backward"] == 5.0)
    best32 = min(abs(d["float32"][f"{kind} h={h:g}"] - 5) for h in steps for kind in ("forward", "central"))
    report.figures["derivative"]["best_float32_difference_error"] = best32
    report.claim(f"the best finite difference in float32 (h from 1e-1 to 1e-10) is still off by {best32:.1e}",
                 best32 > 0)

    bp.manual_seed(0)
    net = SeedNet(dtype=bp.float64)
    x, t = bp.randn(8, 3, dtype=bp.float64), bp.randn(8, 2, dtype=bp.float64)
    hand, auto = by_hand(net, x, t), by_backward(net, x, t)
    diffs = {k: float(np.max(np.abs(hand[k] - auto[k]))) for k in FORMULAS}
    report.say("the seed network x -> Linear(3, 4) -> ReLU -> Linear(4, 2) -> MSE, batch of 8, float64")
    report.table(("gradient", "formula (one sample, column vectors)", "max |NumPy - backward|"),
                 [(k, FORMULAS[k], diffs[k]) for k in FORMULAS])
    report.figures["network"] = {"formulas": FORMULAS, "max_abs_diff": diffs}
    report.claim("every backward formula computed by hand matches backward to 1e-12", max(diffs.values()) < 1e-12)

    plt = report.pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for key, style in (("float32", "-"), ("float64", "--")):
            for kind, marker in (("forward", "o"), ("central", "s")):
                errs = [max(abs(d[key][f"{kind} h={h:g}"] - 5), 1e-17) for h in steps]
                ax.loglog(steps, errs, style, marker=marker, ms=4, label=f"{kind} difference, {key}")
        ax.axhline(1e-17, color="k", lw=2, label="backward (error 0, drawn at 1e-17)")
        ax.set_xlabel("step h")
        ax.set_ylabel("|estimate - 5|")
        ax.set_title("d/dx (x^2 + 3x) at x = 1: finite differences vs backward", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        fig.tight_layout()
        report.save_figure(fig, plt)
