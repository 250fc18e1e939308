"""The lessons of backpropagation, measured: `python -m backprop.lessons NAME [--quick] [--out DIR]`.

Each lesson prints a table, writes NAME.json (its figures, with the machine they were measured
on) and NAME.png (when matplotlib is installed) and returns its figures:

    from backprop import lessons
    figures = lessons.run("vanishing", quick=True, out="lessons-out")
"""

import importlib
import time

from ._common import Report

# name: (module, one-line title), in the order `all` runs them.
LESSONS = {
    "chain-rule": ("chain_rule", "one derivative by hand, by finite differences and by backward"),
    "cost": ("cost", "backward costs a few forwards; finite differences cost n"),
    "vanishing": ("vanishing", "gradient norms through 20 and 50 layers, by activation and init"),
    "exploding": ("exploding", "too-large weights blow up training; clipping keeps it finite"),
    "memory": ("memory", "bytes held for backward, plain and checkpointed"),
    "physics": ("physics", "differentiating a 1000-step projectile simulation"),
    "graph": ("graph", "the seed network as its computational graph"),
}


def module(name):
    if name not in LESSONS:
        raise ValueError(f"no lesson named {name!r}; the lessons are {', '.join(LESSONS)} (or all)")
    return importlib.import_module(f"{__name__}.{LESSONS[name][0]}")


def run(name, quick=False, out="backprop-lessons", log=print):
    """Runs one lesson and returns its figures (the dict written to OUT/NAME.json)."""
    mod = module(name)
    report = Report(name, quick, out, log)
    report.say(f"== {name}: {LESSONS[name][1]}{' (quick)' if quick else ''}")
    started = time.perf_counter()
    mod.run(report)
    return report.finish(time.perf_counter() - started)


__all__ = ["LESSONS", "run"]
