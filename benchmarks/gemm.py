"""GEMM: backprop.matmul against NumPy's BLAS, side by side (float32 or float64).

    python benchmarks/gemm.py                 # every shape below, 2 threads, float32
    python benchmarks/gemm.py --dtype float64 # the same shapes against dgemm
    python benchmarks/gemm.py --threads 1 --rounds 7
    python benchmarks/gemm.py --shapes 1024 64x784x256:NT

Each measurement runs in its own child process (backprop and NumPy alternate, and which goes
first alternates too), so neither library's thread pool or caches favour the other. A child
times repeated calls on warm operands and reports the median; the parent reports the median
over rounds. Shapes are M x K x N; the layout says which operand is a transposed view
(``.t()`` in backprop, ``.T`` in NumPy), as the MLP backward passes them:
NT is the forward x @ W.t(), NN the input gradient g @ W, TN the weight gradient g.t() @ x.

Children run in benchmarks/peer_env.py's environment: a user's OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE are dropped, and with BACKPROP_CPU_CAPABILITY=avx2 NumPy's OpenBLAS is held to
its AVX2 (Haswell) kernels too.

Recorded (2-core AMD EPYC Zen 4 VM shared with other jobs, quiet window; numpy 2.4.6 with
OpenBLAS 0.3.31; ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/gemm.py``),
GFLOP/s, median of 5 child runs, 2 threads, backprop dispatched to avx512:

         M x K x N layout   backprop      numpy   ratio
   256x  256x  256     NN      202.7      173.0   1.17x
   512x  512x  512     NN      208.0      189.6   1.10x
  1024x 1024x 1024     NN      189.5      192.7   0.98x
  2048x 2048x 2048     NN      183.8      192.7   0.95x
    64x  784x  256     NN      191.9      129.3   1.48x
    64x  784x  256     NT      185.0      127.1   1.46x
    64x  256x  784     NN      194.7      172.6   1.13x
    64x  256x  784     NT      185.7      136.0   1.37x
   784x   64x  256     NN      184.8      177.3   1.04x
   784x   64x  256     TN      173.0      177.2   0.98x
   256x   64x  784     TN      192.4       92.8   2.07x

With one thread both sit at 94-107 GFLOP/s (0.96x-1.38x), about 90% of the 32 FLOP/cycle
peak; BACKPROP_CPU_CAPABILITY=avx2 gives the same speed on this CPU (Zen 4 runs AVX-512 on
256-bit units). When other jobs load the machine, a descheduled thread stalls both libraries
alike (both drop to a few GFLOP/s); compare only runs whose load average stayed low.

float64, 1 thread, --cpu-time (same VM, load average 4.4-7.8, so wall time was useless; numpy's
kernel reported by threadpoolctl as OpenBLAS SkylakeX): backprop 44-54 GFLOP/s against numpy's
43-52, ratio 0.97x-1.14x on every shape except 2048^3 (0.85x-0.90x avx512, 0.93x avx2, within the
run-to-run spread of +-10%); avx2 and avx512 kernels alike. Changing the float64 blocks
(MC 96 -> 144/192, KC 256 -> 128, NC 2048 -> 1024) moved nothing beyond that spread.
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

SQUARE = [(n, n, n, "NN") for n in (256, 512, 1024, 2048)]
TRAINING = [
    (64, 784, 256, "NN"),
    (64, 784, 256, "NT"),  # forward of Linear(784, 256): x @ W.t()
    (64, 256, 784, "NN"),  # input gradient: g @ W
    (64, 256, 784, "NT"),
    (784, 64, 256, "NN"),
    (784, 64, 256, "TN"),  # weight gradient, (in, out) layout: x.t() @ g
    (256, 64, 784, "TN"),  # weight gradient, (out, in) layout: g.t() @ x
]
DEFAULT_SHAPES = SQUARE + TRAINING

_CHILD = r"""
import json, statistics, sys, time
import numpy as np
lib, m, k, n, layout, threads, min_time, dtype, clock = sys.argv[1:10]
clock = getattr(time, clock)
m, k, n, threads, min_time = int(m), int(k), int(n), int(threads), float(min_time)
rng = np.random.default_rng(0)
a = rng.standard_normal((k, m) if layout[0] == "T" else (m, k)).astype(dtype)
b = rng.standard_normal((n, k) if layout[1] == "T" else (k, n)).astype(dtype)
if lib == "backprop":
    import backprop as bp
    bp.set_num_threads(threads)
    A, B = bp.from_numpy(a), bp.from_numpy(b)
    A = A.t() if layout[0] == "T" else A
    B = B.t() if layout[1] == "T" else B
    f = lambda: bp.matmul(A, B)
    extra = {"capability": bp.cpu_capability()}
else:
    A = a.T if layout[0] == "T" else a
    B = b.T if layout[1] == "T" else b
    f = lambda: A @ B
    extra = {}
    try:
        from threadpoolctl import threadpool_info
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            extra["numpy_kernel"] = f"{blas[0].get('internal_api')} {blas[0].get('architecture')}"
    except ImportError:
        pass
for _ in range(3):
    f()
times = []
start = time.perf_counter()
while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < 2000):
    t0 = clock()
    f()
    times.append(clock() - t0)
print(json.dumps(dict(seconds=statistics.median(times), best=min(times), calls=len(times), **extra)))
"""


def _child(lib, shape, threads, min_time, dtype="float32", clock="perf_counter"):
    m, k, n, layout = shape
    env = peer_env.child_env(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                             MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-c", _CHILD, lib, str(m), str(k), str(n), layout, str(threads), str(min_time), dtype, clock]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(shapes=None, threads=2, rounds=5, min_time=0.2, dtype="float32", clock="perf_counter"):
    """Times each (M, K, N, layout) for backprop and NumPy; returns one dict per shape.

    Keys: m, k, n, layout, threads, dtype, backprop_gflops, numpy_gflops, ratio (backprop / numpy),
    backprop_best_gflops, numpy_best_gflops, capability.
    """
    shapes = DEFAULT_SHAPES if shapes is None else [_parse(s) if isinstance(s, str) else tuple(s) for s in shapes]
    results = []
    for shape in shapes:
        if len(shape) == 3:
            shape = (*shape, "NN")
        m, k, n, layout = shape
        per = {"backprop": [], "numpy": []}
        best = {"backprop": float("inf"), "numpy": float("inf")}
        cap = kernel = None
        for r in range(rounds):
            order = ("backprop", "numpy") if r % 2 == 0 else ("numpy", "backprop")
            for lib in order:
                res = _child(lib, shape, threads, min_time, dtype, clock)
                per[lib].append(res["seconds"])
                best[lib] = min(best[lib], res["best"])
                cap = res.get("capability", cap)
                kernel = res.get("numpy_kernel", kernel)
        flop = 2.0 * m * k * n
        bp_s, np_s = statistics.median(per["backprop"]), statistics.median(per["numpy"])
        results.append(
            dict(
                m=m,
                k=k,
                n=n,
                layout=layout,
                threads=threads,
                dtype=dtype,
                backprop_gflops=flop / bp_s / 1e9,
                numpy_gflops=flop / np_s / 1e9,
                ratio=np_s / bp_s,
                backprop_best_gflops=flop / best["backprop"] / 1e9,
                numpy_best_gflops=flop / best["numpy"] / 1e9,
                capability=cap,
                numpy_kernel=kernel,
            )
        )
    return results


def _parse(text):
    dims, _, layout = text.partition(":")
    parts = [int(x) for x in dims.lower().split("x")]
    if len(parts) == 1:
        parts = parts * 3
    return (*parts, (layout or "NN").upper())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", nargs="*", help="MxKxN[:LAYOUT] or N for N x N x N (default: all listed)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5, help="child processes per library and shape")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds each child keeps timing")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--cpu-time", action="store_true",
                   help="time the calling thread's CPU time, not wall time (with --threads 1 only): "
                        "time spent descheduled on a loaded machine then does not count")
    p.add_argument("--json", action="store_true", help="print the result dicts as JSON")
    args = p.parse_args(argv)
    if args.cpu_time and args.threads != 1:
        p.error("--cpu-time measures one thread; use it with --threads 1")
    load0 = os.getloadavg()[0]
    t0 = time.time()
    results = run(args.shapes, threads=args.threads, rounds=args.rounds, min_time=args.min_time, dtype=args.dtype,
                  clock="thread_time" if args.cpu_time else "perf_counter")
    if args.json:
        print(json.dumps(results, indent=1))
        return
    import numpy as np

    cap = results[0]["capability"] if results else "?"
    kernel = results[0]["numpy_kernel"] if results else None
    print(f"{args.dtype} GEMM, {args.threads} thread(s), median of {args.rounds} child runs each; "
          f"backprop {cap}, numpy {np.__version__} ({kernel or 'kernel unknown'}); load average {load0:.2f} -> {os.getloadavg()[0]:.2f}, "
          f"{time.time() - t0:.0f} s{', CPU time' if args.cpu_time else ''}")
    print(f"{'M x K x N':>18} {'layout':>6} {'backprop':>10} {'numpy':>10} {'ratio':>7}   (GFLOP/s; best-run ratio)")
    for r in results:
        best_ratio = r["backprop_best_gflops"] / r["numpy_best_gflops"]
        print(f"{r['m']:>6}x{r['k']:>5}x{r['n']:>5} {r['layout']:>6} {r['backprop_gflops']:>10.1f} "
              f"{r['numpy_gflops']:>10.1f} {r['ratio']:>6.2f}x   ({best_ratio:.2f}x)")


if __name__ == "__main__":
    main()
