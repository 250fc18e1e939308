"""memory: what backward needs the forward pass to keep, and what checkpointing trades for it.

Backward needs, for every layer, what its local derivative reads: for a Linear + ReLU layer (one
fused op here) that is its output, batch x width numbers, so the bytes held grow as
depth x batch x width. Gradient checkpointing in sqrt(depth) segments keeps only each segment's
input and recomputes the segment's forward during backward: held bytes fall by about
sqrt(depth), and the price is one extra forward pass. Measured with backprop.memory_stats().
"""

import math
import time

import backprop as bp
from backprop import nn
from backprop.utils.checkpoint import checkpoint

MB = 1e6


def build(depth, width):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)


def segments_of(model, depth):
    k = max(1, round(math.sqrt(depth)))
    bounds = [round(i * depth / k) for i in range(k + 1)]
    return [model[2 * a:2 * b] for a, b in zip(bounds[:-1], bounds[1:])]


def forward(model, segments, x):
    if segments is None:
        return model(x)
    h = x
    for seg in segments:
        h = checkpoint(seg, h)
    return h


def measure(depth, batch, width, repeat, min_total):
    """Held and peak bytes of one forward + backward, plain and checkpointed, on the same model;
    then the fastest of several steps of each, alternating so that both see the same machine."""
    bp.manual_seed(0)
    model = build(depth, width)
    x = bp.randn(batch, width)
    modes = {"plain": None, "checkpointed": segments_of(model, depth)}

    def step(segments):
        forward(model, segments, x).mean().backward()

    result = {}
    for name, segments in modes.items():
        step(segments)  # allocates every .grad: from here on gradients are added in place, not counted
        model.zero_grad(set_to_none=False)
        base = bp.memory_stats()["bytes_in_use"]
        bp.reset_peak_memory_stats()
        out = forward(model, segments, x)
        held = bp.memory_stats()["bytes_in_use"] - base
        out.mean().backward()
        del out
        result[name] = {"held_bytes": held, "peak_bytes": bp.memory_stats()["peak_bytes"] - base,
                        "seconds": math.inf, "segments": len(segments) if segments else None}
    # Short steps get more runs (at least `min_total` seconds of them): the fastest of many is what
    # survives other jobs on the machine.
    started, runs = time.perf_counter(), 0
    while runs < repeat or (time.perf_counter() - started < min_total and runs < 200):
        for name, segments in modes.items():
            t0 = time.perf_counter()
            step(segments)
            result[name]["seconds"] = min(result[name]["seconds"], time.perf_counter() - t0)
        runs += 1
    return result


def run(report):
    quick = report.quick
    width = 128 if quick else 512
    depths = (4, 16) if quick else (4, 16, 64)
    batches = (32, 128) if quick else (64, 256, 1024)
    rows, records = [], []
    for depth in depths:
        for batch in batches:
            both = measure(depth, batch, width, repeat=2 if quick else 3, min_total=0.1 if quick else 0.5)
            plain, ckpt = both["plain"], both["checkpointed"]
            per_element = plain["held_bytes"] / (depth * batch * width)
            rec = {"depth": depth, "batch": batch, "width": width, "plain": plain, "checkpointed": ckpt,
                   "plain_bytes_per_element": per_element, "time_overhead": ckpt["seconds"] / plain["seconds"] - 1}
            records.append(rec)
            rows.append((depth, batch, plain["held_bytes"] / MB, per_element, plain["peak_bytes"] / MB,
                         ckpt["segments"], ckpt["held_bytes"] / MB, ckpt["peak_bytes"] / MB,
                         f"{100 * rec['time_overhead']:+.0f}%"))
    report.say(f"Linear({width}, {width}) + ReLU layers, float32; MB = 1e6 bytes, above the weights and their "
               f"gradients; checkpointed in round(sqrt(depth)) segments")
    report.table(("depth", "batch", "held MB", "B/elem", "peak MB", "segments", "ckpt held MB", "ckpt peak MB",
                  "time"), rows)
    report.figures["width"] = width
    report.figures["rows"] = records
    per = [r["plain_bytes_per_element"] for r in records]
    report.claim(f"plain backward holds {min(per):.2f} to {max(per):.2f} bytes per batch x depth x width element "
                 f"(one float32 per layer output)", all(3.5 < p < 5.5 for p in per))
    big = records[-1]
    plain_mb, ckpt_mb = big["plain"]["peak_bytes"] / MB, big["checkpointed"]["peak_bytes"] / MB
    report.claim(f"checkpointing lowers the bytes held in every case; at depth {big['depth']}, batch {big['batch']}: "
                 f"{plain_mb:.3g} MB peak plain vs {ckpt_mb:.3g} MB checkpointed, for "
                 f"{100 * big['time_overhead']:+.0f}% time",
                 all(r["checkpointed"]["held_bytes"] < r["plain"]["held_bytes"] for r in records)
                 and big["checkpointed"]["peak_bytes"] < big["plain"]["peak_bytes"])
    plot(report, records, depths, batches, width)


def plot(report, records, depths, batches, width):
    plt = report.pyplot()
    if plt is None:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, batch in enumerate(batches):
        rs = [r for r in records if r["batch"] == batch]
        ax1.loglog([r["depth"] for r in rs], [r["plain"]["peak_bytes"] / MB for r in rs], "o-", color=f"C{i}",
                   label=f"batch {batch}, plain")
        ax1.loglog([r["depth"] for r in rs], [r["checkpointed"]["peak_bytes"] / MB for r in rs], "s--",
                   color=f"C{i}", label=f"batch {batch}, checkpointed")
    ax1.set_xticks(list(depths), [str(d) for d in depths])
    ax1.xaxis.set_minor_formatter(plt.NullFormatter())
    ax1.set_xlabel("depth (layers)")
    ax1.set_ylabel("peak MB above the weights")
    ax1.set_title(f"peak memory, width {width}", fontsize=10)
    ax1.grid(alpha=0.3, which="both")
    ax1.legend(fontsize=7)
    labels = [f"{r['depth']}x{r['batch']}" for r in records]
    ax2.bar(range(len(records)), [100 * r["time_overhead"] for r in records], color="C2")
    ax2.set_xticks(range(len(records)))
    ax2.set_xticklabels(labels, rotation=45, fontsize=7)
    ax2.set_xlabel("depth x batch")
    ax2.set_ylabel("extra time with checkpointing (%)")
    ax2.set_title("what the recomputation costs", fontsize=10)
    ax2.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    report.save_figure(fig, plt)
