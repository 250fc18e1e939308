"""Threads in the situations users are in: idle, right after a NumPy matmul in the same process
(OpenBLAS's threads still spinning), and beside one busy process on the machine; each workload
with 1 and 2 threads, backprop and torch, every measurement in a fresh child process.

    python benchmarks/scenarios.py                      # all scenarios, prints a table
    python benchmarks/scenarios.py --scenario loaded    # one scenario
    python benchmarks/scenarios.py --markdown FILE      # also append the table to FILE

The claim checked: for backprop, 2 threads are never slower than 1 (ratio t1/t2 >= 1 within
noise) in any scenario. Times are medians of per-step times.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peer_env  # noqa: E402
import workloads  # noqa: E402

SCENARIOS = ("idle", "after-numpy", "loaded")

CASES = [
    ("mlp", {"name": "MLP 784-256-256-10 batch 64", "sizes": [784, 256, 256, 10], "batch": 64}),
    ("mlp", {"name": "MLP 784-1024-1024-10 batch 256", "sizes": [784, 1024, 1024, 10], "batch": 256}),
    ("matmul", {"name": "matmul 1000x784 @ 784x500", "m": 1000, "k": 784, "n": 500}),
    ("exp", {"name": "exp(x).sum().backward() 1e6", "n": 1_000_000}),
]


def _matmul(lib, case):
    mod, _ = workloads._lib(lib)
    a, b = mod.randn(case["m"], case["k"]), mod.randn(case["k"], case["n"])
    return lambda: a @ b


def _exp(lib, case):
    mod, _ = workloads._lib(lib)
    x = mod.randn(case["n"], requires_grad=True)

    def step():
        x.grad = None
        mod.exp(x).sum().backward()

    return step


def child(family, lib, case, scenario, threads):
    """Runs in the child: builds the step, then times it per call (after a NumPy matmul each
    time in the after-numpy scenario); prints the median seconds. The library's threads are set
    through its own call, not OMP_NUM_THREADS, which would also shrink NumPy's OpenBLAS pool:
    the 1-thread run would then have no OpenBLAS threads spinning beside it."""
    import numpy as np

    workloads._lib(lib)[0].set_num_threads(threads)

    steps = []
    if family == "mlp":
        # workloads.mlp times its own step; capture the step instead.
        workloads.timed = lambda step, **_: steps.append(step)
        workloads.mlp(lib, case)
        step = steps[0]
    else:
        step = {"matmul": _matmul, "exp": _exp}[family](lib, case)
    a = np.random.default_rng(0).standard_normal((512, 512))
    for _ in range(3):
        step()
    times = []
    deadline = time.perf_counter() + 2.0
    while len(times) < 15 or (time.perf_counter() < deadline and len(times) < 200):
        if scenario == "after-numpy":
            a @ a
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": statistics.median(times)}))


def run_child(family, lib, case, scenario, threads):
    env = peer_env.child_env(drop=("OMP_NUM_THREADS",))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", family, lib, json.dumps(case), scenario, str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{family}/{lib} {case['name']} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def measure(scenario, repeats):
    busy = None
    if scenario == "loaded":
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    rows = []
    try:
        for family, case in CASES:
            # Rounds interleave the four (library, threads) runs: this machine's speed drifts by
            # 10% and more over tens of seconds, and a block of one configuration's runs would
            # carry the drift into its 1t/2t ratio.
            samples = {(lib, threads): [] for lib in ("backprop", "torch") for threads in (1, 2)}
            for r in range(repeats):
                for key in (list(samples) if r % 2 == 0 else list(reversed(samples))):
                    samples[key].append(run_child(family, key[0], case, scenario, key[1]))
            t = {key: statistics.median(v) for key, v in samples.items()}
            row = {"scenario": scenario, "case": case["name"], "times": {f"{k[0]} {k[1]}t": v for k, v in t.items()}}
            rows.append(row)
            print(format_row(row), flush=True)
    finally:
        if busy:
            busy.kill()
    return rows


def ms(s):
    return f"{s * 1e3:.3f} ms"


def format_row(row):
    t = row["times"]
    return (f"{row['scenario']:11s} {row['case']:32s} backprop 1t {ms(t['backprop 1t'])} 2t {ms(t['backprop 2t'])} "
            f"(1t/2t {t['backprop 1t'] / t['backprop 2t']:.2f})  torch 1t {ms(t['torch 1t'])} 2t {ms(t['torch 2t'])} "
            f"(1t/2t {t['torch 1t'] / t['torch 2t']:.2f})  torch 2t / backprop 2t {t['torch 2t'] / t['backprop 2t']:.2f}x")


def markdown(rows):
    lines = ["| scenario | case | backprop 1t | backprop 2t | 1t/2t | torch 1t | torch 2t | 1t/2t | torch/backprop (2t) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t = r["times"]
        lines.append(f"| {r['scenario']} | {r['case']} | {ms(t['backprop 1t'])} | {ms(t['backprop 2t'])} | "
                     f"{t['backprop 1t'] / t['backprop 2t']:.2f} | {ms(t['torch 1t'])} | {ms(t['torch 2t'])} | "
                     f"{t['torch 1t'] / t['torch 2t']:.2f} | {t['torch 2t'] / t['backprop 2t']:.2f}x |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="run only these scenarios")
    parser.add_argument("--repeats", type=int, default=3, help="child processes per measurement (median)")
    parser.add_argument("--markdown", help="append the table to this file")
    args = parser.parse_args()
    rows = []
    for scenario in args.scenario or SCENARIOS:
        rows += measure(scenario, args.repeats)
    table = markdown(rows)
    print(table)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(table)


if __name__ == "__main__":
    main()
