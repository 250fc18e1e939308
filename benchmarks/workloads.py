"""The benchmark workloads, one function per (family, library); run.py runs each in a child process.

    python benchmarks/workloads.py FAMILY LIBRARY CASE_JSON   ->   {"seconds": per-iteration time}
"""

import json
import sys
import time

# ---- the cases ------------------------------------------------------------------------------------

MLP_CASES = [
    {"name": f"{'-'.join(map(str, sizes))} batch {batch}", "sizes": sizes, "batch": batch, "libs": ["backprop", "torch"]}
    for sizes, batch in [([2, 16, 16, 2], 32), ([784, 256, 256, 10], 64), ([784, 1024, 1024, 10], 1024)]
]

# Physics and second-order users train in float64; SGD and Adam, so the optimizer step's float64
# path is timed as well as the GEMMs and fused ops.
MLP_CASES += [
    {"name": f"float64 {'-'.join(map(str, sizes))} batch {batch} {optim}", "sizes": sizes, "batch": batch,
     "dtype": "float64", "optim": optim, "libs": ["backprop", "torch"]}
    for sizes, batch in [([784, 256, 256, 10], 64), ([784, 1024, 1024, 10], 256)]
    for optim in ("SGD", "Adam")
]

CHAIN_CASES = [{"name": "per op, 300-op scalar chain fwd+bwd", "ops": 300, "libs": ["backprop", "torch", "micrograd"]}]

# The pieces of a training step the performance issue measured one by one: forward, backward and
# the optimizer step of the 784-256-256-10 MLP; a wide Linear's backward; the backward/forward
# ratio of a wide MLP, which copies of gradient buffers inflate.
PART_CASES = [
    {"name": f"MLP 784-256-256-10 batch 64 {part}", "part": part, "sizes": [784, 256, 256, 10], "batch": 64,
     "libs": ["backprop", "torch"]}
    for part in ("forward", "backward", "SGD.step()")
] + [
    {"name": "Linear(1600, 1600) backward batch 64", "part": "backward", "sizes": [1600, 1600], "batch": 64,
     "libs": ["backprop", "torch"]},
    {"name": "Linear(1600, 1600) fwd+bwd batch 64", "part": "step", "sizes": [1600, 1600], "batch": 64,
     "libs": ["backprop", "torch"]},
    {"name": "MLP 784-2048-2048-10 batch 256 forward", "part": "forward", "sizes": [784, 2048, 2048, 10],
     "batch": 256, "libs": ["backprop", "torch"]},
    {"name": "MLP 784-2048-2048-10 batch 256 backward", "part": "backward", "sizes": [784, 2048, 2048, 10],
     "batch": 256, "libs": ["backprop", "torch"]},
]

DIGITS_CASES = [{"name": "digits MLP epoch", "hidden": [128, 64], "batch": 32, "libs": ["backprop", "torch"]}]


# ---- timing -----------------------------------------------------------------------------------------

def timed(step, min_seconds=0.3, blocks=5):
    """Per-call time of step(): the fastest of several blocks, after a warm-up."""
    step()
    n, t0 = 1, time.perf_counter()
    step()
    elapsed = time.perf_counter() - t0
    n = max(1, int(min_seconds / blocks / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def _lib(name):
    if name == "backprop":
        import backprop

        return backprop, backprop.nn.functional
    import torch

    return torch, torch.nn.functional


# ---- workloads --------------------------------------------------------------------------------------

def _mlp_params(mod, sizes, seed=0, dtype="float32"):
    import numpy as np

    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(mod.tensor(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype), requires_grad=True))
        params.append(mod.tensor(rng.uniform(-bound, bound, fan_out).astype(dtype), requires_grad=True))
    return params


def _mlp_forward(mod, F, params, x):
    h = x
    for i in range(0, len(params), 2):
        h = F.linear(h, params[i], params[i + 1])
        if i + 2 < len(params):
            h = mod.relu(h)
    return h


def mlp(lib, case):
    import numpy as np

    mod, F = _lib(lib)
    sizes, batch, dtype = case["sizes"], case["batch"], case.get("dtype", "float32")
    params = _mlp_params(mod, sizes, dtype=dtype)
    if case.get("optim", "SGD") == "Adam":
        opt = mod.optim.Adam(params, lr=1e-3)
    else:
        opt = mod.optim.SGD(params, lr=0.01)
    rng = np.random.default_rng(1)
    x = mod.tensor(rng.standard_normal((batch, sizes[0])).astype(dtype))
    y = mod.tensor(rng.integers(0, sizes[-1], batch))

    def step():
        opt.zero_grad()
        F.cross_entropy(_mlp_forward(mod, F, params, x), y).backward()
        opt.step()

    return timed(step)


def part(lib, case):
    """One piece of an MLP step, timed alone: the rest runs untimed around it."""
    import numpy as np

    mod, F = _lib(lib)
    sizes, batch = case["sizes"], case["batch"]
    params = _mlp_params(mod, sizes)
    opt = mod.optim.SGD(params, lr=1e-4)
    rng = np.random.default_rng(1)
    x = mod.tensor(rng.standard_normal((batch, sizes[0])).astype("float32"))
    y = mod.tensor(rng.integers(0, sizes[-1], batch))

    def loss():
        out = _mlp_forward(mod, F, params, x)
        return F.cross_entropy(out, y) if len(sizes) > 2 else out.sum()

    if case["part"] == "step":
        def step():
            opt.zero_grad()
            loss().backward()

        return timed(step)
    if case["part"] == "forward":
        return timed(loss)
    times = []
    for i in range(40):
        opt.zero_grad()
        value = loss()
        t0 = time.perf_counter()
        value.backward()
        if case["part"] != "backward":
            t0 = time.perf_counter()
            opt.step()
        if i >= 5:  # warm-up: first-touch of the gradient buffers
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def chain(lib, case):
    ops = case["ops"]
    if lib == "micrograd":
        from micrograd.engine import Value

        def run():
            y = x = Value(0.5)
            for _ in range(ops // 3):
                y = (y * 1.001 + 0.1).relu()
            y.backward()
    else:
        mod, _ = _lib(lib)
        x = mod.tensor([0.5], requires_grad=True)

        def run():
            y = x
            for _ in range(ops // 3):
                y = (y * 1.001 + 0.1).relu()
            y.sum().backward()

    return timed(run) / ops


def digits(lib, case):
    import numpy as np
    from sklearn.datasets import load_digits

    mod, F = _lib(lib)
    data = load_digits()
    x_all = (data.data / 16.0).astype(np.float32)
    y_all = data.target.astype(np.int64)
    sizes = [64, *case["hidden"], 10]
    params = _mlp_params(mod, sizes)
    opt = mod.optim.Adam(params, lr=1e-3)
    batch = case["batch"]
    order = np.random.default_rng(0).permutation(len(x_all))
    batches = [(mod.tensor(x_all[order[i:i + batch]]), mod.tensor(y_all[order[i:i + batch]]))
               for i in range(0, len(order), batch)]

    def epoch():
        for xb, yb in batches:
            opt.zero_grad()
            F.cross_entropy(_mlp_forward(mod, F, params, xb), yb).backward()
            opt.step()

    return timed(epoch, min_seconds=1.0, blocks=3)


RUNNERS = {"mlp": mlp, "parts": part, "chain": chain, "digits": digits}

if __name__ == "__main__":
    family, library, case_json = sys.argv[1:4]
    seconds = RUNNERS[family](library, json.loads(case_json))
    print(json.dumps({"seconds": seconds}))
