"""cost: backward costs a small constant times forward; finite differences cost n forwards.

The gradient of a loss with n parameters by central finite differences needs 2n evaluations of
the loss. Backward gets all n partial derivatives from one forward and one backward pass, and the
backward pass does about twice the forward's arithmetic (two matrix products per layer instead of
one), whatever n is. Measured on MLPs from about 1e2 to 1e7 parameters in float64; finite
differences are timed up to about 1e4 parameters and extrapolated beyond (2n timed forwards).
"""

import math
import time

import numpy as np

import backprop as bp
from backprop import nn

from ._common import best_time

BATCH = 64
FD_STEP = 1e-6


def width_for(n_params):
    # Linear(w, w) -> ReLU -> Linear(w, w) -> ReLU -> Linear(w, 10) has 2w^2 + 12w + 10 parameters.
    return max(1, round((-12 + math.sqrt(144 - 8 * (10 - n_params))) / 4))


def build(width):
    model = nn.Sequential(nn.Linear(width, width, dtype=bp.float64), nn.ReLU(),
                          nn.Linear(width, width, dtype=bp.float64), nn.ReLU(),
                          nn.Linear(width, 10, dtype=bp.float64))
    x = bp.randn(BATCH, width, dtype=bp.float64)
    t = bp.randn(BATCH, 10, dtype=bp.float64)
    return model, x, t


def finite_differences(model, loss):
    """The whole gradient by central differences, 2 loss evaluations per parameter."""
    grads = []
    with bp.no_grad():
        for p in model.parameters():
            flat = p.detach().numpy().reshape(-1)  # a view: writing it perturbs the parameter
            g = np.empty_like(flat)
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + FD_STEP
                up = loss()
                flat[i] = orig - FD_STEP
                down = loss()
                flat[i] = orig
                g[i] = (up - down) / (2 * FD_STEP)
            grads.append(g)
    return np.concatenate(grads)


def measure(n_target, fd_limit, repeat, min_total):
    bp.manual_seed(0)
    model, x, t = build(width_for(n_target))
    n = sum(p.numel() for p in model.parameters())
    params = list(model.parameters())
    fwd, bwd = math.inf, math.inf
    # Big models get fewer repeats, but never fewer than three; small ones run for at least
    # min_total seconds, so that the fastest run is one that no other job on the machine slowed.
    reps = max(3, repeat if n < 1e6 else repeat // 2)
    model.zero_grad()
    nn.functional.mse_loss(model(x), t).backward()  # warms caches and the allocator
    runs, started = 0, time.perf_counter()
    while runs < reps or (time.perf_counter() - started < min_total and runs < 2000):
        model.zero_grad()
        t0 = time.perf_counter()
        loss = nn.functional.mse_loss(model(x), t)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        fwd, bwd = min(fwd, t1 - t0), min(bwd, t2 - t1)
        runs += 1
    grad = np.concatenate([p.grad.numpy().reshape(-1) for p in params])

    def loss_value():
        return nn.functional.mse_loss(model(x), t).item()

    with bp.no_grad():
        evaluation = best_time(loss_value, repeat=reps, min_total=min_total)
    row = {"params": n, "width": width_for(n_target), "forward_s": fwd, "backward_s": bwd,
           "backward_over_forward": bwd / fwd, "fd_evaluation_s": evaluation,
           "fd_estimate_s": 2 * n * evaluation}
    if n <= fd_limit:
        t0 = time.perf_counter()
        fd = finite_differences(model, loss_value)
        row["fd_s"] = time.perf_counter() - t0
        row["fd_measured"] = True
        row["fd_max_rel_error"] = float(np.max(np.abs(fd - grad)) / np.max(np.abs(grad)))
    else:
        row["fd_s"] = row["fd_estimate_s"]
        row["fd_measured"] = False
    row["fd_over_backprop"] = row["fd_s"] / (fwd + bwd)
    return row


def run(report):
    quick = report.quick
    targets = [120, 1e3, 1e4] if quick else [120, 1e3, 1e4, 1e5, 1e6, 1e7]
    fd_limit = 1.2e3 if quick else 1.2e4
    rows = []
    for n in targets:
        rows.append(measure(n, fd_limit, repeat=3 if quick else 7, min_total=0.05 if quick else 0.3))
        report.log(f"  measured {rows[-1]['params']:,} parameters")
    report.say(f"MLP Linear(w,w)-ReLU-Linear(w,w)-ReLU-Linear(w,10), batch {BATCH}, float64, MSE loss; "
               f"fastest of several runs")
    report.table(
        ("params", "forward", "backward", "bwd/fwd", "finite diff.", "FD/(fwd+bwd)", "FD vs backward"),
        [(r["params"], f"{r['forward_s'] * 1e3:.3g} ms", f"{r['backward_s'] * 1e3:.3g} ms",
          r["backward_over_forward"], f"{r['fd_s']:.3g} s" + ("" if r["fd_measured"] else " (extrapolated)"),
          r["fd_over_backprop"], r.get("fd_max_rel_error")) for r in rows])
    report.figures["rows"] = rows
    ratios = [r["backward_over_forward"] for r in rows]
    report.figures["backward_over_forward_range"] = [min(ratios), max(ratios)]
    report.claim(f"backward stays a small constant times forward: {min(ratios):.2f} to {max(ratios):.2f} "
                 f"from {rows[0]['params']:,} to {rows[-1]['params']:,} parameters", max(ratios) < 10)
    measured = [r for r in rows if r["fd_measured"]]
    first, last = measured[0], measured[-1]
    report.claim(f"finite differences grow with n: {first['fd_over_backprop']:,.0f}x slower than backprop at "
                 f"{first['params']:,} parameters, {last['fd_over_backprop']:,.0f}x at {last['params']:,}",
                 last["fd_over_backprop"] > 2 * first["fd_over_backprop"])
    worst = max(r["fd_max_rel_error"] for r in measured)
    report.claim(f"and they compute the same gradient (largest difference {worst:.1e} of the largest entry)",
                 worst < 1e-5)
    plot(report, rows)


def plot(report, rows):
    plt = report.pyplot()
    if plt is None:
        return
    n = [r["params"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(n, [r["forward_s"] for r in rows], "o-", label="forward")
    ax.loglog(n, [r["backward_s"] for r in rows], "s-", label="backward")
    meas = [r for r in rows if r["fd_measured"]]
    extra = [r for r in rows if not r["fd_measured"]]
    ax.loglog([r["params"] for r in meas], [r["fd_s"] for r in meas], "^-", color="C3",
              label="finite differences (measured)")
    if extra:
        tail = meas[-1:] + extra
        ax.loglog([r["params"] for r in tail], [r["fd_s"] for r in tail], "^--", color="C3", mfc="none",
                  label="finite differences (extrapolated)")
    ax.set_xlabel("parameters")
    ax.set_ylabel("seconds (finite differences: the whole gradient)")
    ax.set_title("the cost of a gradient: backward vs finite differences", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    report.save_figure(fig, plt)
