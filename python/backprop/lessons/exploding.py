"""exploding: too-large weights make the first update overflow; clipping the gradient norm keeps
training finite.

A 20-layer ReLU network whose weights have standard deviation 3/sqrt(fan_in) (Kaiming would use
sqrt(2)/sqrt(fan_in)) multiplies activations and gradients by about 2 per layer: its first
gradient is around 1e13, one SGD step with that gradient makes the weights enormous, and the next
forward pass overflows to inf and NaN. clip_grad_norm_ rescales the gradient to norm 1 before
each step, so the same network trains. GradFlow names the layer where the overflow began.
"""

import math

import backprop as bp
from backprop import nn
from backprop.nn.utils import GradFlow, clip_grad_norm_

DEPTH, WIDTH, N_IN, GAIN, LR, MAX_NORM = 20, 64, 16, 3.0, 0.01, 1.0


def build(seed=0):
    bp.manual_seed(seed)
    layers = []
    for i in range(DEPTH):
        lin = nn.Linear(N_IN if i == 0 else WIDTH, WIDTH)
        nn.init.normal_(lin.weight, 0.0, GAIN / math.sqrt(lin.in_features))
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    layers.append(nn.Linear(WIDTH, 1))
    return nn.Sequential(*layers)


def data():
    bp.manual_seed(1)
    x = bp.randn(128, N_IN)
    return x, x[:, :1] * 2 - x[:, 1:2]


def train(steps, clip, flow=False):
    model = build()
    x, y = data()
    opt = bp.optim.SGD(model.parameters(), lr=LR)
    monitor = GradFlow(model) if flow else None
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        if clip:
            norms.append(clip_grad_norm_(model.parameters(), MAX_NORM).item())
        else:
            grads = [p.grad for p in model.parameters()]
            norms.append(math.sqrt(sum(float((g.double() * g.double()).sum().item()) for g in grads)))
        opt.step()
        losses.append(loss.item())
    if monitor is not None:
        monitor.remove()
    return losses, norms, monitor


def anomaly_report(report):
    """Names the op whose backward made the first non-finite gradient, with anomaly mode."""
    model = build()
    x, y = data()
    opt = bp.optim.SGD(model.parameters(), lr=LR)
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    opt.zero_grad()
    message = None
    try:
        with bp.autograd.detect_anomaly():
            nn.functional.mse_loss(model(x), y).backward()
    except RuntimeError as e:
        message = str(e).splitlines()[0]
    report.say(f"anomaly mode: {message or 'no error raised'}")
    report.figures["anomaly"] = message


def run(report):
    steps = 20 if report.quick else 100
    plain, plain_norms, flow = train(steps, clip=False, flow=True)
    clipped, clip_norms, _ = train(steps, clip=True)
    first_bad = next((i for i, v in enumerate(plain) if not math.isfinite(v)), None)
    report.say(f"{DEPTH} Linear+ReLU layers of width {WIDTH}, weights N(0, ({GAIN:g}/sqrt(fan_in))^2), "
               f"SGD lr {LR:g}, MSE on a linear target, batch 128")
    shown = sorted({0, 1, 2, 3, steps // 2, steps - 1})
    report.table(("step", "loss, no clipping", "|grad|", f"loss, clip_grad_norm_({MAX_NORM:g})", "|grad| before clip"),
                 [(s, plain[s], plain_norms[s], clipped[s], clip_norms[s]) for s in shown])
    report.figures.update({
        "depth": DEPTH, "width": WIDTH, "gain": GAIN, "lr": LR, "max_norm": MAX_NORM, "steps": steps,
        "loss_plain": plain, "grad_norm_plain": plain_norms, "loss_clipped": clipped, "grad_norm_clipped": clip_norms,
        "first_nonfinite_step": first_bad,
        "first_nonfinite_output": flow.first_nonfinite_output,
        "first_nonfinite_gradient": flow.first_nonfinite_gradient,
        "diagnosis": [flow.diagnose(0), flow.diagnose(1)],
    })
    # Step 0's gradients are huge but finite and similar at both ends, so the first/last ratio
    # alone looks healthy; the overflow shows at step 1.
    report.say(f"GradFlow, step 0 (|grad| {plain_norms[0]:.2g}): {flow.diagnose(0)}")
    report.say(f"GradFlow, step 1: {flow.diagnose(1)}")
    bad_out, bad_grad = flow.first_nonfinite_output, flow.first_nonfinite_gradient
    if bad_out is not None:
        report.say(f"  the first non-finite activation came out of layer {bad_out['layer']} ({bad_out['type']}, "
                   f"{bad_out['grad_fn']}) at step {bad_out['step']}")
    if bad_grad is not None:
        report.say(f"  the first non-finite gradient, in backward order, reached the output of layer "
                   f"{bad_grad['layer']} ({bad_grad['type']}, {bad_grad['grad_fn']}) at step {bad_grad['step']}")
    anomaly_report(report)
    report.say()
    report.claim(f"without clipping the loss is non-finite from step {first_bad}",
                 first_bad is not None and first_bad <= 1)
    finite = all(math.isfinite(v) for v in clipped)
    report.claim(f"with clip_grad_norm_ the loss stays finite for all {steps} steps and falls from "
                 f"{clipped[0]:.3g} to {clipped[-1]:.3g}", finite and clipped[-1] < clipped[0])
    plot(report, plain, clipped, first_bad)


def plot(report, plain, clipped, first_bad):
    plt = report.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.semilogy(range(len(clipped)), clipped, "-", label=f"clip_grad_norm_(max_norm={MAX_NORM:g})")
    finite = [(i, v) for i, v in enumerate(plain) if math.isfinite(v)]
    ax.semilogy([i for i, _ in finite], [v for _, v in finite], "o", color="C3", label="no clipping")
    if first_bad is not None:
        ax.axvline(first_bad, color="C3", ls="--", lw=1)
        ax.text(first_bad + 0.5, max(clipped) / 3, f"no clipping: NaN from step {first_bad}", color="C3", fontsize=8)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training loss (MSE)")
    ax.set_title(f"{DEPTH}-layer ReLU net, weights {GAIN:g}/sqrt(fan_in)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    report.save_figure(fig, plt)
