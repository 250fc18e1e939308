"""Side-by-side benchmarks: backprop against its peers, each library in a child process of its own.

    python benchmarks/run.py                 # every workload on every kernel kind this CPU has,
                                             # writes benchmarks/RESULTS.md
    python benchmarks/run.py --only chain    # one family (gemm, mlp, parts, chain, digits,
                                             # transcendental, scenarios)
    python benchmarks/run.py --kinds avx2    # force one kernel kind (BACKPROP_CPU_CAPABILITY)
    python benchmarks/run.py --repeats 7     # more alternating rounds

Families: GEMM against NumPy's BLAS in float32 and float64; MLP training steps (float32 and
float64, SGD and Adam), the pieces of a step (forward, backward, SGD.step(), a wide Linear, a
wide MLP's backward/forward ratio), the 300-op scalar chain (per-op overhead, against torch and
micrograd) and a digits epoch against PyTorch; transcendental ops at 1e5-1e7 elements on 1
and 2 threads (benchmarks/transcendental.py); and each thread scenario, idle, right after a
NumPy matmul and beside a busy process, with 1 and 2 threads (benchmarks/scenarios.py).

Two libraries spinning thread pools on two cores slow each other down, so every measurement runs
in a fresh child process, the libraries' children alternate, and each figure is the median over
rounds. Ratios are peer time / backprop time: above 1 means backprop is faster.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gemm  # noqa: E402
import peer_env  # noqa: E402
import scenarios  # noqa: E402
import transcendental  # noqa: E402
import workloads  # noqa: E402


FAMILIES = {
    "gemm": None,  # benchmarks/gemm.py runs its own children
    "mlp": workloads.MLP_CASES,
    "parts": workloads.PART_CASES,
    "chain": workloads.CHAIN_CASES,
    "digits": workloads.DIGITS_CASES,
    "transcendental": None,  # benchmarks/transcendental.py
    "scenarios": None,  # benchmarks/scenarios.py: a table of its own
}
KINDS = ("avx512", "avx2")


def run_child(family, lib, case):
    """Times one case of one library in a fresh interpreter; returns seconds per iteration."""
    env = peer_env.child_env()
    cmd = [sys.executable, os.path.join(HERE, "workloads.py"), family, lib, json.dumps(case)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{family}/{lib} {case} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def measure(family, cases, repeats):
    rows = []
    for case in cases:
        libs = case["libs"]
        times = {lib: [] for lib in libs}
        for _ in range(repeats):
            for lib in libs:  # alternate the libraries round by round
                times[lib].append(run_child(family, lib, case))
        medians = {lib: statistics.median(ts) for lib, ts in times.items()}
        row = {"family": family, "case": case["name"], "seconds": medians}
        base = medians["backprop"]
        row["ratios"] = {lib: medians[lib] / base for lib in libs if lib != "backprop"}
        if "flops" in case:
            row["gflops"] = {lib: case["flops"] / t / 1e9 for lib, t in medians.items()}
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def measure_gemm(repeats):
    results = gemm.run(rounds=repeats) + gemm.run(rounds=repeats, dtype="float64")
    rows = []
    for r in results:
        flop = 2.0 * r["m"] * r["k"] * r["n"]
        gflops = {"backprop": r["backprop_gflops"], "numpy": r["numpy_gflops"]}
        row = {
            "family": "gemm",
            "case": f"{r['m']}x{r['k']}x{r['n']} {r['layout']}" + (" float64" if r["dtype"] == "float64" else ""),
            "seconds": {lib: flop / g / 1e9 for lib, g in gflops.items()},
            "ratios": {"numpy": r["ratio"]},
            "gflops": gflops,
        }
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def measure_transcendental(repeats):
    rows = []
    for r in transcendental.run([os.environ["BACKPROP_CPU_CAPABILITY"]], [1, 2], ["1e5", "1e6", "1e7"],
                                transcendental.WORKLOADS, repeats):
        peers = [lib for lib in ("torch", "numpy") if lib in r]
        row = {
            "family": "transcendental",
            "case": f"{r['workload']} {r['n']:.0e} {r['threads']} thread{'s' if r['threads'] > 1 else ''}",
            "seconds": {lib: r[lib] for lib in ("backprop", *peers)},
            "ratios": {lib: r[lib] / r["backprop"] for lib in peers},
        }
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def measure_scenarios(repeats):
    rows = []
    for scenario in scenarios.SCENARIOS:
        rows += scenarios.measure(scenario, max(1, min(repeats, 3)))
    return rows


def format_time(s):
    if s < 1e-3:
        return f"{s * 1e6:9.1f} us"
    if s < 1:
        return f"{s * 1e3:9.2f} ms"
    return f"{s:9.3f} s "


def format_row(row):
    parts = [f"{row['family']:6s} {row['case']:28s}"]
    for lib, t in row["seconds"].items():
        extra = f" ({row['gflops'][lib]:.0f} GFLOP/s)" if "gflops" in row else ""
        parts.append(f"{lib}: {format_time(t).strip()}{extra}")
    for lib, r in row["ratios"].items():
        parts.append(f"{lib}/backprop = {r:.2f}x")
    return "  ".join(parts)


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for name in ("numpy", "torch", "backprop"):
        try:
            mod = __import__(name)
            versions[name] = getattr(mod, "__version__", "?")
        except ImportError:
            versions[name] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=HERE, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(), "versions": versions, "commit": commit}


def supported_kinds():
    """The kernel kinds this CPU can run, widest first."""
    out = subprocess.run([sys.executable, "-c", "import backprop; print(backprop.cpu_capability())"],
                         capture_output=True, text=True, check=True, env={k: v for k, v in os.environ.items()
                                                                         if k != "BACKPROP_CPU_CAPABILITY"})
    native = out.stdout.strip()
    return list(KINDS[KINDS.index(native):]) if native in KINDS else [native]


def kept_sections(path):
    """Sections of an existing RESULTS.md that other scripts wrote (distributed.py): kept as they are."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return ""
    sections, current = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            current = [line]
            sections.append(current)
        elif current is not None:
            current.append(line)
    return "".join("".join(sec) for sec in sections if not sec[0].startswith("## Kernels:"))


def write_results(results, info, path, repeats):
    kept = kept_sections(path)
    lines = [
        "# Benchmark results",
        "",
        f"Recorded {datetime.date.today().isoformat()} by `python benchmarks/run.py` "
        f"(median of {repeats} alternating rounds, each library in its own child process).",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores, native kernel kind {info['native']}",
        f"- OS: {info['os']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- backprop commit: {info['commit'] or 'unknown'}",
        f"- load average before and after: {info['load_before']:.2f} -> {os.getloadavg()[0]:.2f}",
        "",
        "Ratio = peer time / backprop time (above 1: backprop is faster). Each kernel kind is forced",
        "with BACKPROP_CPU_CAPABILITY for every child process of its section. In the avx2 section the",
        "peers are held to AVX2 as well (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS,",
        "ONEDNN_MAX_CPU_ISA, NPY_DISABLE_CPU_FEATURES, OPENBLAS_CORETYPE=Haswell: benchmarks/peer_env.py),",
        "so it stands for a machine without AVX-512.",
        "",
    ]
    for kind, (rows, scenario_rows) in results.items():
        lines += [f"## Kernels: {kind}", ""]
        if rows:
            lines += ["| workload | case | backprop | peer | ratio |", "|---|---|---|---|---|"]
        for row in rows:
            bp_t = row["seconds"]["backprop"]
            for lib, ratio in row["ratios"].items():
                bp_cell = format_time(bp_t).strip()
                peer_cell = f"{lib} {format_time(row['seconds'][lib]).strip()}"
                if "gflops" in row:
                    bp_cell += f" ({row['gflops']['backprop']:.0f} GFLOP/s)"
                    peer_cell += f" ({row['gflops'][lib]:.0f} GFLOP/s)"
                lines.append(f"| {row['family']} | {row['case']} | {bp_cell} | {peer_cell} | {ratio:.2f}x |")
        if scenario_rows:
            lines += ["", f"Threads ({kind}): each step timed alone, idle, right after a NumPy matmul in the same "
                      "process, and beside one busy process; 1t/2t above 1 means 2 threads are faster.", "",
                      scenarios.markdown(scenario_rows).rstrip()]
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines) + ("\n" + kept if kept else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(FAMILIES), action="append", help="run only these workload families")
    parser.add_argument("--kinds", nargs="+", help="kernel kinds to force (default: every kind this CPU has)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds per case (default 5)")
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"), help="where to write the table")
    args = parser.parse_args()
    families = args.only or list(FAMILIES)
    kinds = args.kinds or supported_kinds()
    info = machine()
    info["native"] = supported_kinds()[0]
    info["load_before"] = os.getloadavg()[0]
    print(f"{info['cpu']} ({info['cores']} cores); " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    started = time.time()
    results = {}
    saved = os.environ.get("BACKPROP_CPU_CAPABILITY")
    try:
        for kind in kinds:
            os.environ["BACKPROP_CPU_CAPABILITY"] = kind  # every child process inherits it
            print(f"== kernels: {kind}", flush=True)
            rows, scenario_rows = [], []
            for family in families:
                if family == "gemm":
                    rows += measure_gemm(args.repeats)
                elif family == "transcendental":
                    rows += measure_transcendental(args.repeats)
                elif family == "scenarios":
                    scenario_rows = measure_scenarios(args.repeats)
                else:
                    rows += measure(family, FAMILIES[family], args.repeats)
            results[kind] = (rows, scenario_rows)
    finally:
        if saved is None:
            os.environ.pop("BACKPROP_CPU_CAPABILITY", None)
        else:
            os.environ["BACKPROP_CPU_CAPABILITY"] = saved
    write_results(results, info, args.output, args.repeats)
    print(f"wrote {args.output} in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
