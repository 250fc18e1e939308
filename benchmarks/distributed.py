"""Data-parallel training on one machine: 1 process x 2 threads against 2 MPI processes x 1 thread.

    python benchmarks/distributed.py              # prints the table and the scaling estimate
    python benchmarks/distributed.py --write      # also replaces its section of benchmarks/RESULTS.md

Both train the 784-1024-1024-10 MLP (float32, SGD) on the same global batch: one process with two
OpenMP threads, or DistributedDataParallel over two ranks of one thread each (half the batch each).
Every configuration runs in fresh processes and the two alternate round by round; the table gives
the best round (other jobs on the machine only add time) and the median. The DDP ranks also report
the bytes they reduce per step and how long each backward waited for communication once its last
gradient was ready (the part not hidden behind backward). From those bytes, a ring-allreduce cost
model estimates the step time on 8 and 64 machines joined by a 10 Gb/s link.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [784, 1024, 1024, 10]
SECTION = "## Data-parallel training on MPI"

# The cost model's network: a 10 Gb/s link, and a per-message latency typical of TCP over Ethernet.
LINK_BYTES_PER_S = 10e9 / 8
LATENCY_S = 50e-6


def worker(args):
    """One measurement in this process (or, under mpirun, this rank); rank 0 prints a JSON line."""
    import numpy as np

    import backprop as bp

    ddp = None
    rank, world = 0, 1
    if args.worker == "ddp":
        import backprop.distributed as dist

        dist.init_process_group()
        rank, world = dist.get_rank(), dist.get_world_size()
    bp.set_num_threads(args.threads)
    bp.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [bp.nn.Linear(fan_in, fan_out), bp.nn.ReLU()]
    model = bp.nn.Sequential(*layers[:-1])
    net = model
    if args.worker == "ddp":
        ddp = net = bp.nn.parallel.DistributedDataParallel(model)
    opt = bp.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = bp.nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    local = args.batch // world
    x = bp.tensor(rng.normal(size=(local, SIZES[0])).astype(np.float32))
    y = bp.tensor(rng.integers(0, SIZES[-1], size=local))

    phases = {"forward": 0.0, "backward": 0.0}

    def step():
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        phases["forward"] += t1 - t0
        phases["backward"] += t2 - t1

    for _ in range(args.warmup):
        step()
    if ddp is not None:
        dist.barrier()
    phases.update(forward=0.0, backward=0.0)
    waits = []
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
        if ddp is not None:
            waits.append(ddp.comm_stats["wait_seconds"])
    seconds = (time.perf_counter() - started) / args.steps
    result = {"seconds_per_step": seconds, "samples_per_s": args.batch / seconds,
              "backward_share": phases["backward"] / args.steps / seconds}
    if ddp is not None:
        stats = ddp.comm_stats
        # The slowest rank sets the pace: report its figures.
        everyone = [None] * world
        dist.all_gather_object(everyone, (seconds, statistics.mean(waits)))
        result.update(seconds_per_step=max(s for s, _ in everyone), wait_seconds=max(w for _, w in everyone),
                      bytes=stats["bytes"], bucket_bytes=[b.buffer.nbytes for b in ddp.reducer.buckets],
                      bucket_params=[sum(ddp.reducer.params[j].numel() for j in b.members)
                                     for b in ddp.reducer.buckets])
        result["samples_per_s"] = args.batch / result["seconds_per_step"]
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def _mpirun():
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    found = beside if os.access(beside, os.X_OK) else shutil.which("mpirun")
    if found is None:
        sys.exit("mpirun not found: pip install 'backprop[distributed]'")
    return found


SINGLE, DDP = "1 process x 2 threads", "2 processes x 1 thread"


def run_config(name, args, batch=None):
    common = [os.path.abspath(__file__), "--batch", str(batch or args.batch), "--steps", str(args.steps),
              "--warmup", str(args.warmup)]
    if name == SINGLE:
        cmd = [sys.executable, *common, "--worker", "single", "--threads", "2"]
    else:
        cmd = [_mpirun(), "--allow-run-as-root", "--bind-to", "core", "-n", "2", sys.executable, *common,
               "--worker", "ddp", "--threads", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def ring_allreduce_seconds(nbytes, machines):
    """Ring allreduce: 2(N-1) steps, each sending 1/N of the buffer over the link."""
    return 2 * (machines - 1) * (LATENCY_S + nbytes / machines / LINK_BYTES_PER_S)


def estimate_step(compute, backward_share, bucket_bytes, bucket_params, machines):
    """(step seconds, communication seconds, exposed seconds) of DDP on `machines` machines.

    Bucket k is ready when backward has gone through the share of the parameters up to and
    including it (backward time taken as proportional to the weights it differentiates); the link
    carries one bucket at a time; whatever is still in flight when backward ends adds to the step.
    """
    backward = backward_share * compute
    total, done, link_free, comm = sum(bucket_params), 0, 0.0, 0.0
    for nbytes, params in zip(bucket_bytes, bucket_params):
        done += params
        seconds = ring_allreduce_seconds(nbytes, machines)
        link_free = max(backward * done / total, link_free) + seconds
        comm += seconds
    exposed = max(0.0, link_free - backward)
    return compute + exposed, comm, exposed


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def _best(runs, key):
    return min(r[key] for r in runs)


def report(args, results, small):
    one, two = results[SINGLE], results[DDP]
    # Other jobs on the machine only ever add time: the best round is the estimate's basis, the
    # median says how noisy the rounds were.
    t1, t1_median = _best(one, "seconds_per_step"), _median(one, "seconds_per_step")
    t2, t2_median = _best(two, "seconds_per_step"), _median(two, "seconds_per_step")
    share = _median(one, "backward_share")
    wait, wait_median = _best(two, "wait_seconds"), _median(two, "wait_seconds")
    nbytes, bucket_bytes, bucket_params = two[0]["bytes"], two[0]["bucket_bytes"], two[0]["bucket_params"]
    mb = nbytes / 1e6
    lines = [
        SECTION,
        "",
        f"Recorded {time.strftime('%Y-%m-%d')} by `python benchmarks/distributed.py` ({args.repeats} alternating "
        f"rounds of {args.steps} steps after {args.warmup} warm-up steps, fresh processes each round, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end). The "
        f"{'-'.join(map(str, SIZES))} MLP in float32 with SGD, global batch {args.batch}; the two ranks take "
        f"{args.batch // 2} samples each and are bound to one core each. Best round, then the median of the rounds.",
        "",
        "| configuration | step | samples/s | waiting on communication per step |",
        "|---|---|---|---|",
        f"| {SINGLE} | {t1 * 1e3:.1f} ms (median {t1_median * 1e3:.1f}) | {args.batch / t1:.0f} | - |",
        f"| {DDP} (DDP, {len(bucket_bytes)} buckets) | {t2 * 1e3:.1f} ms (median {t2_median * 1e3:.1f}) | "
        f"{args.batch / t2:.0f} | {wait * 1e3:.2f} ms (median {wait_median * 1e3:.2f}) |",
        "",
        f"Each rank reduces {mb:.2f} MB of gradients per step, in buckets of "
        f"{', '.join(f'{b / 1e6:.2f}' for b in bucket_bytes)} MB (in launch order). The wait is the time from the "
        "last gradient of backward to the averaged gradients: the communication that backward did not hide.",
        "",
        f"**Scaling estimate** for machines like this one joined by a 10 Gb/s link: a ring allreduce of b bytes "
        f"over N machines costs 2(N-1) x ({LATENCY_S * 1e6:.0f} us + b / N / 1.25 GB/s), so the {mb:.2f} MB "
        f"as one message take {ring_allreduce_seconds(nbytes, 8) * 1e3:.1f} ms on 8 machines and "
        f"{ring_allreduce_seconds(nbytes, 64) * 1e3:.1f} ms on 64 (the bandwidth term hardly depends on N, the "
        "latency term grows with it, and every bucket pays it: the allreduce column sums the buckets). "
        "Bucket k can go once "
        f"backward ({share:.0%} of a step here) has passed its parameters; what is still on the wire when "
        "backward ends adds to the step. Compute times are this machine's (1 process x 2 threads, best round) "
        "at each batch per machine.",
        "",
        "| machines | batch per machine | compute | allreduce | exposed | step | samples/s | speed-up |",
        "|---|---|---|---|---|---|---|---|",
        f"| 1 | {args.batch} | {t1 * 1e3:.1f} ms | - | - | {t1 * 1e3:.1f} ms | {args.batch / t1:.0f} | 1.0x |",
    ]
    for machines, per_machine in ((8, args.batch // 8), (64, args.batch // 64), (8, args.batch), (64, args.batch)):
        compute = small[per_machine] if per_machine != args.batch else t1
        step, comm, exposed = estimate_step(compute, share, bucket_bytes, bucket_params, machines)
        rate = per_machine * machines / step
        lines.append(f"| {machines} | {per_machine} | {compute * 1e3:.1f} ms | {comm * 1e3:.1f} ms | "
                     f"{exposed * 1e3:.1f} ms | {step * 1e3:.1f} ms | {rate:.0f} | {rate / (args.batch / t1):.1f}x |")
    lines.append("")
    return "\n".join(lines)


def write_section(text, path):
    current = open(path).read() if os.path.exists(path) else ""
    # Replace this benchmark's section (up to the next top-level section) and keep the rest.
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(updated)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1024, help="global batch (default 1024)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--write", action="store_true", help="replace this section of benchmarks/RESULTS.md")
    parser.add_argument("--worker", choices=["single", "ddp"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    results = {SINGLE: [], DDP: []}
    small = {args.batch // 8: [], args.batch // 64: []}
    for round_ in range(args.repeats):
        for name in results:
            results[name].append(run_config(name, args))
            print(f"round {round_ + 1} {name}: {json.dumps(results[name][-1])}", flush=True)
        for batch in small:  # compute per step at the batch per machine of the strong-scaling estimate
            small[batch].append(run_config(SINGLE, args, batch)["seconds_per_step"])
    text = report(args, results, {batch: min(ts) for batch, ts in small.items()})
    print("\n" + text)
    if args.write:
        write_section(text, os.path.join(HERE, "RESULTS.md"))
        print("updated benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
