"""Transcendental elementwise ops, float32: backprop against PyTorch (and NumPy), side by side.

    python benchmarks/transcendental.py                       # avx512 and avx2, 1 and 2 threads
    python benchmarks/transcendental.py --threads 1 --kinds avx2 --sizes 1e6
    python benchmarks/transcendental.py --workloads exp tanh_bwd --rounds 7

Workloads: forward-only exp, tanh, sigmoid, log, GELU (erf and tanh forms) and softplus, and ``f(x).sum().backward()`` for exp and
tanh (forward, sum, and the backward through the expanded gradient). Each (kernel kind, thread
count) runs in its own child process with BACKPROP_CPU_CAPABILITY set, so the kind is chosen
as at import; inside it backprop, torch and NumPy alternate call by call and each reports the
median over rounds of the per-call mean. The ratio is torch's time over backprop's: above 1
backprop is faster. NumPy (one thread, no autograd) is printed for scale on forward workloads.

The machine's load average is printed with the table: on a shared machine compare only runs
whose load stayed low, and prefer the one-thread rows when judging the kernels themselves.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_env  # noqa: E402

WORKLOADS = ["exp", "tanh", "sigmoid", "log", "gelu", "gelu_tanh", "softplus", "exp_bwd", "tanh_bwd"]


# Activations that live in nn.functional, with the arguments that pick the variant timed.
NN_FUNCTIONAL = {"gelu": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": "tanh"}), "softplus": ("softplus", {})}


def _child(args):
    import numpy as np

    import backprop as bp

    torch = None
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    bp.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    out = {"kind": bp._core.cpu_capability(), "rows": []}
    for size in args.sizes:
        n = int(float(size))
        data = rng.uniform(-4.0, 4.0, n).astype(np.float32)
        pos = np.abs(data) + np.float32(0.01)
        for w in args.workloads:
            base = pos if w == "log" else data
            fns = {}
            bx = bp.tensor(base, requires_grad=w.endswith("_bwd"))
            tx = torch.tensor(base, requires_grad=w.endswith("_bwd")) if torch else None
            if w.endswith("_bwd"):
                op = w[: -len("_bwd")]

                def bp_run(op=op, x=bx):
                    x.grad = None
                    getattr(bp, op)(x).sum().backward()

                fns["backprop"] = bp_run
                if torch:

                    def t_run(op=op, x=tx):
                        x.grad = None
                        getattr(torch, op)(x).sum().backward()

                    fns["torch"] = t_run
            elif w in NN_FUNCTIONAL:
                fn, kwargs = NN_FUNCTIONAL[w]
                fns["backprop"] = lambda x=bx: getattr(bp.nn.functional, fn)(x, **kwargs)
                if torch:
                    fns["torch"] = lambda x=tx: getattr(torch.nn.functional, fn)(x, **kwargs)
            else:
                with bp.no_grad():
                    fns["backprop"] = lambda op=w, x=bx: getattr(bp, op)(x)
                if torch:
                    fns["torch"] = lambda op=w, x=tx: getattr(torch, op)(x)
                np_fn = {
                    "exp": np.exp,
                    "tanh": np.tanh,
                    "log": np.log,
                    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
                }[w]
                fns["numpy"] = lambda f=np_fn, x=base: f(x)
            reps = max(3, int(2e7 // n))
            samples = {k: [] for k in fns}
            for f in fns.values():
                f()
            for r in range(args.rounds):
                order = list(fns) if r % 2 == 0 else list(reversed(fns))
                for k in order:
                    t0 = time.perf_counter()
                    for _ in range(reps):
                        fns[k]()
                    samples[k].append((time.perf_counter() - t0) / reps)
            out["rows"].append({"workload": w, "n": n, **{k: statistics.median(v) for k, v in samples.items()}})
    print(json.dumps(out))


def run(kinds, threads_list, sizes, workloads, rounds):
    """Rows of seconds per call ({"kind", "threads", "workload", "n", "backprop", "torch", "numpy"}),
    one child process per (kernel kind, thread count)."""
    rows = []
    for kind in kinds:
        for threads in threads_list:
            env = peer_env.child_env(BACKPROP_CPU_CAPABILITY=kind, OMP_NUM_THREADS=str(threads))
            cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--rounds", str(rounds),
                   "--sizes", *sizes, "--workloads", *workloads]
            res = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"transcendental child failed:\n{res.stderr[-2000:]}")
            data = json.loads(res.stdout.strip().splitlines()[-1])
            rows += [dict(row, kind=data["kind"], threads=threads) for row in data["rows"]]
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--kinds", nargs="+", default=["avx512", "avx2"])
    p.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.threads = args.threads[0]
        return _child(args)
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{'kind':>7} {'thr':>3} {'workload':>9} {'n':>9} {'backprop':>11} {'torch':>11} {'numpy':>11} {'torch/bp':>8}")
    for row in run(args.kinds, args.threads, args.sizes, args.workloads, args.rounds):
        def us(key, row=row):
            return f"{row[key] * 1e6:9.1f}us" if key in row else f"{'-':>11}"

        ratio = f"{row['torch'] / row['backprop']:7.2f}x" if "torch" in row else f"{'-':>8}"
        print(f"{row['kind']:>7} {row['threads']:>3} {row['workload']:>9} {row['n']:>9.0e} {us('backprop')} "
              f"{us('torch')} {us('numpy')} {ratio}")
    print(f"load average at end:   {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
