"""What every lesson shares: the machine it ran on, tables, JSON, plots and timing."""

import json
import math
import os
import platform
import time

import numpy as np

import backprop as bp


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine():
    """Where the figures were measured, recorded beside them."""
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": bp.get_num_threads(),
        "cpu_capability": bp.cpu_capability(),
        "backprop": bp.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if not math.isfinite(v):
            return str(v)
        if 1e-3 <= abs(v) < 1e5:
            return f"{v:.{digits}g}"
        return f"{v:.{digits - 1}e}"
    return str(v)


def table(headers, rows):
    """A plain-text table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(headers))]
    lines = []
    for k, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if numeric[i] and k else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def json_safe(v):
    """Non-finite floats become strings: JSON has no inf or NaN."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, np.generic):
        return json_safe(v.item())
    return v


class Report:
    """Collects a lesson's output: what it prints, its figures (JSON) and its picture (PNG)."""

    def __init__(self, name, quick, out, log=print):
        self.name = name
        self.quick = quick
        self.out = out
        self.log = log
        self.figures = {"lesson": name, "quick": quick, "machine": machine()}
        self.files = []
        os.makedirs(out, exist_ok=True)

    def say(self, text=""):
        self.log(text)

    def table(self, headers, rows, title=None):
        if title:
            self.say(title)
        self.say(table(headers, rows))
        self.say()

    def claim(self, text, holds):
        self.figures.setdefault("claims", []).append({"claim": text, "holds": bool(holds)})
        self.say(f"[{'holds' if holds else 'DOES NOT HOLD'}] {text}")

    def path(self, suffix):
        return os.path.join(self.out, f"{self.name}{suffix}")

    def pyplot(self):
        """matplotlib's pyplot, or None (and a one-line message) when it is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            self.say(f"matplotlib is not installed: skipping {self.name}.png (pip install 'backprop[demo]')")
            return None
        return plt

    def save_figure(self, fig, plt, suffix=".png"):
        path = self.path(suffix)
        fig.savefig(path, dpi=80)
        plt.close(fig)
        self.files.append(path)
        return path

    def finish(self, seconds):
        self.figures["seconds"] = round(seconds, 3)
        path = self.path(".json")
        with open(path, "w") as f:
            json.dump(json_safe(self.figures), f, indent=1)
        self.files.insert(0, path)
        self.say(f"wrote {', '.join(self.files)} ({seconds:.1f} s)")
        return self.figures


def best_time(fn, repeat=5, min_total=0.0):
    """The fastest of `repeat` runs (at least enough runs to fill min_total seconds): noise only
    ever adds time, so the minimum is the most faithful figure."""
    best = math.inf
    runs = 0
    start = time.perf_counter()
    while runs < repeat or time.perf_counter() - start < min_total:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
        if runs >= 1000:
            break
    return best
