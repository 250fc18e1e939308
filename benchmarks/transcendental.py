"""Transcendental elementwise ops, float32: backprop against PyTorch (and NumPy), side by side.

    python benchmarks/transcendental.py                       # avx512 and avx2, 1 and 2 threads
    python benchmarks/transcendental.py --threads 1 --kinds avx2 --sizes 1e6
    python benchmarks/transcendental.py --workloads exp tanh_bwd --rounds 7

Workloads: forward-only exp, tanh, sigmoid, log, GELU (erf and tanh forms) and softplus, and ``f(x).sum().backward()`` for exp and
tanh (forward, sum, and the backward through the expanded gradient). Each (kernel kind, thread
count, library) runs in a child process of its own with BACKPROP_CPU_CAPABILITY set (and the
peers held to the same instruction set, benchmarks/peer_env.py), so the kind is chosen as at
import and no library's idle threads compete with another's; each reports the median over
rounds of the per-call mean. The ratio is torch's time over backprop's: above 1 backprop is
faster. NumPy (one thread, no autograd) is printed for scale on forward workloads.

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
LIBS = ("backprop", "torch", "numpy")


# Activations that live in nn.functional, with the arguments that pick the variant timed.
NN_FUNCTIONAL = {"gelu": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": "tanh"}), "softplus": ("softplus", {})}


def _functions(lib, w, base, requires_grad):
    """The call timed for workload w in one library, or None where it has no such call."""
    import numpy as np

    if lib == "numpy":
        if w not in ("exp", "tanh", "log", "sigmoid"):
            return None
        f = {"exp": np.exp, "tanh": np.tanh, "log": np.log, "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}[w]
        return lambda: f(base)
    mod = __import__(lib)
    x = mod.tensor(base, requires_grad=requires_grad)
    if w.endswith("_bwd"):
        op = getattr(mod, w[: -len("_bwd")])

        def run():
            x.grad = None
            op(x).sum().backward()

        return run
    if w in NN_FUNCTIONAL:
        fn, kwargs = NN_FUNCTIONAL[w]
        f = getattr(mod.nn.functional, fn)
        return lambda: f(x, **kwargs)
    f = getattr(mod, w)
    return lambda: f(x)


def _child(args):
    """One library in this process: another library's threads (PyTorch's OpenMP pool spinning
    after its own calls) would otherwise compete with the one being timed."""
    import numpy as np

    if args.lib == "torch":
        import torch

        torch.set_num_threads(args.threads)
    elif args.lib == "backprop":
        import backprop as bp

        bp.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    out = {"rows": []}
    if args.lib == "backprop":
        out["kind"] = bp._core.cpu_capability()
    for size in args.sizes:
        n = int(float(size))
        data = rng.uniform(-4.0, 4.0, n).astype(np.float32)
        pos = np.abs(data) + np.float32(0.01)
        for w in args.workloads:
            f = _functions(args.lib, w, pos if w == "log" else data, w.endswith("_bwd"))
            if f is None:
                continue
            reps = max(3, int(2e7 // n))
            f()
            samples = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                samples.append((time.perf_counter() - t0) / reps)
            out["rows"].append({"workload": w, "n": n, "seconds": statistics.median(samples)})
    print(json.dumps(out))


def run(kinds, threads_list, sizes, workloads, rounds):
    """Rows of seconds per call ({"kind", "threads", "workload", "n", "backprop", "torch", "numpy"}),
    one child process per (kernel kind, thread count, library); the libraries' children
    alternate in order from one (kind, threads) to the next."""
    rows = []
    for kind in kinds:
        for i, threads in enumerate(threads_list):
            env = peer_env.child_env(BACKPROP_CPU_CAPABILITY=kind, OMP_NUM_THREADS=str(threads))
            merged, found_kind = {}, kind
            libs = LIBS if i % 2 == 0 else tuple(reversed(LIBS))
            for lib in libs:
                cmd = [sys.executable, __file__, "--child", "--lib", lib, "--threads", str(threads),
                       "--rounds", str(rounds), "--sizes", *sizes, "--workloads", *workloads]
                res = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if res.returncode != 0:
                    if lib == "torch" and "No module named 'torch'" in res.stderr:
                        continue
                    raise RuntimeError(f"transcendental child ({lib}) failed:\n{res.stderr[-2000:]}")
                data = json.loads(res.stdout.strip().splitlines()[-1])
                found_kind = data.get("kind", found_kind)
                for row in data["rows"]:
                    merged.setdefault((row["workload"], row["n"]), {})[lib] = row["seconds"]
            for w in workloads:
                for size in sizes:
                    times = merged.get((w, int(float(size))), {})
                    if "backprop" in times:
                        rows.append(dict(times, workload=w, n=int(float(size)), kind=found_kind, threads=threads))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--kinds", nargs="+", default=["avx512", "avx2"])
    p.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--lib", choices=LIBS, help=argparse.SUPPRESS)
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
