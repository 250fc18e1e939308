"""DistributedDataParallel checked against one process on the concatenated batch, on every rank.

Every rank builds the same data; rank r trains on rows [r*b, (r+1)*b) of each global batch, and a
plain copy of the model trained on the whole global batch in the same process is the reference.
The loss is a mean, so the average of the ranks' gradients is the whole batch's gradient.
"""

import copy
import os

import numpy as np
from mpi4py import MPI

import backprop as bp
import backprop.distributed as dist
from backprop import nn
from backprop.nn.parallel import DistributedDataParallel as DDP

WORLD = MPI.COMM_WORLD
RANK, SIZE = WORLD.rank, WORLD.size
PER_RANK = 4


def _mlp(sizes=(5, 16, 8, 3), seed=0):
    bp.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1]).double()


def _batch(step, features=5, classes=3):
    rng = np.random.default_rng(100 + step)
    x = rng.normal(size=(PER_RANK * SIZE, features))
    y = rng.integers(0, classes, size=PER_RANK * SIZE)
    return bp.tensor(x), bp.tensor(y)


def _mine(t):
    return t[RANK * PER_RANK:(RANK + 1) * PER_RANK]


def _grads(model):
    return {name: None if p.grad is None else p.grad.numpy().copy() for name, p in model.named_parameters()}


def _assert_close(got, want, tol, what):
    assert got.keys() == want.keys()
    for name in want:
        if want[name] is None or got[name] is None:
            assert got[name] is None and want[name] is None, f"{what}: {name} grad {got[name]} vs {want[name]}"
            continue
        err = np.abs(got[name] - want[name]).max()
        assert err <= tol, f"{what}: {name} differs by {err:.3e} (tolerance {tol:g})"


def _assert_same_on_every_rank(model, what):
    mine = [p.detach().numpy().tobytes() for p in model.parameters()]
    for rank, theirs in enumerate(WORLD.allgather(mine)):
        assert theirs == mine, f"{what}: rank {rank}'s parameters are not bit-identical to rank {RANK}'s"


LOSS = nn.CrossEntropyLoss()


def gradients_match_one_process(_dir):
    model = _mlp(seed=RANK)  # each rank starts elsewhere: DDP must broadcast rank 0's parameters
    ddp = DDP(model)
    reference = copy.deepcopy(model)
    x, y = _batch(0)
    LOSS(ddp(_mine(x)), _mine(y)).backward()
    LOSS(reference(x), y).backward()
    _assert_close(_grads(model), _grads(reference), 1e-12, "one backward")

    # Without zero_grad the averaged gradient is added to the one already held, as in PyTorch.
    x2, y2 = _batch(1)
    LOSS(ddp(_mine(x2)), _mine(y2)).backward()
    LOSS(reference(x2), y2).backward()
    _assert_close(_grads(model), _grads(reference), 1e-12, "accumulating into existing .grad")

    # no_sync: local accumulation, then one synchronised backward averages the sum.
    ddp.zero_grad()
    reference.zero_grad()
    for step in (2, 3):
        with ddp.no_sync():
            xs, ys = _batch(step)
            LOSS(ddp(_mine(xs)), _mine(ys)).backward()
        LOSS(reference(xs), ys).backward()
    local = _grads(model)
    others = WORLD.allgather(local)
    assert SIZE == 1 or any(np.abs(o["0.weight"] - local["0.weight"]).max() > 0 for o in others), \
        "no_sync must leave each rank's own gradient"
    xs, ys = _batch(4)
    LOSS(ddp(_mine(xs)), _mine(ys)).backward()
    LOSS(reference(xs), ys).backward()
    _assert_close(_grads(model), _grads(reference), 1e-12, "no_sync accumulation then a synchronised step")


def training_matches_one_process(_dir):
    for make_optimizer in (lambda ps: bp.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: bp.optim.Adam(ps, lr=1e-2)):
        model = _mlp(seed=7)
        ddp = DDP(model)
        reference = copy.deepcopy(model)
        opt, ref_opt = make_optimizer(model.parameters()), make_optimizer(reference.parameters())
        for step in range(20):
            x, y = _batch(step)
            opt.zero_grad()
            LOSS(ddp(_mine(x)), _mine(y)).backward()
            opt.step()
            ref_opt.zero_grad()
            LOSS(reference(x), y).backward()
            ref_opt.step()
        name = type(opt).__name__
        _assert_same_on_every_rank(model, f"{name} after 20 steps")
        for (pname, p), q in zip(model.named_parameters(), reference.parameters()):
            err = np.abs(p.detach().numpy() - q.detach().numpy()).max()
            assert err <= 1e-10, f"{name}: {pname} is {err:.3e} from the one-process run"


def buckets_overlap_backward(_dir):
    sizes = (32, 64, 64, 64, 10)
    model = _mlp(sizes, seed=3)
    ddp = DDP(model, bucket_cap_mb=0.01)
    single = _mlp(sizes, seed=3)
    ddp_single = DDP(single, bucket_cap_mb=100)
    assert len(ddp.reducer.buckets) >= 3 and len(ddp_single.reducer.buckets) == 1
    rng = np.random.default_rng(5 + RANK)
    x, y = bp.tensor(rng.normal(size=(8, 32))), bp.tensor(rng.integers(0, 10, size=8))
    ddp.reducer.trace = trace = []
    LOSS(ddp(x), y).backward()
    LOSS(ddp_single(x), y).backward()

    kinds = [event[0] for event in trace]
    hooks = [i for i, kind in enumerate(kinds) if kind == "hook"]
    launches = [event[1] for event in trace if event[0] == "launch"]
    completions = [event[1] for event in trace if event[0] == "complete"]
    n = len(ddp.reducer.buckets)
    assert len(hooks) == len(list(model.parameters())), trace
    assert launches == list(range(n)) and completions == list(range(n)), trace
    assert kinds.index("launch") < hooks[-1], f"the first allreduce must start before the last gradient: {trace}"
    for k in range(n):
        assert trace.index(("launch", k)) < trace.index(("complete", k)), trace
    assert kinds[-1] == "finish", trace
    # Bucket boundaries change when each allreduce runs, not what it computes.
    _assert_close(_grads(model), _grads(single), 1e-15, "several buckets against one")
    stats = ddp.comm_stats
    assert stats["buckets"] == n and stats["bytes"] == 8 * sum(p.numel() for p in model.parameters()), stats


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(4, 4)
        self.left = nn.Linear(4, 2)
        self.right = nn.Linear(4, 2)
        self.never = nn.Linear(4, 2)

    def forward(self, x, use_right):
        h = self.trunk(x).tanh()
        out = self.left(h)
        return out + self.right(h) if use_right else out


def unused_parameters(_dir):
    bp.manual_seed(11)
    model = _Branchy().double()
    ddp = DDP(model, find_unused_parameters=True)
    local = copy.deepcopy(model)
    rng = np.random.default_rng(20 + RANK)
    x = bp.tensor(rng.normal(size=(3, 4)))
    use_right = RANK == 0  # right is used on rank 0 only, never on no rank
    ddp(x, use_right).sum().backward()
    local(x, use_right).sum().backward()
    everyone = WORLD.allgather(_grads(local))
    want = {}
    for name in everyone[0]:
        parts = [g[name] for g in everyone if g[name] is not None]
        want[name] = None if not parts else sum(parts) / SIZE  # a rank that did not use it adds zeros
    _assert_close(_grads(model), want, 1e-12, "find_unused_parameters")

    # Without find_unused_parameters a parameter without gradient is reported at the next forward.
    strict = DDP(_Branchy().double())
    strict(x, True).sum().backward()
    try:
        strict(x, True)
    except RuntimeError as exc:
        assert "'never.weight'" in str(exc) and "find_unused_parameters=True" in str(exc), str(exc)
    else:
        raise AssertionError("a parameter without gradient went unnoticed")


def mismatched_models_are_named(_dir):
    wider = _mlp((5, 17 if RANK == 1 else 16, 8, 3))
    try:
        DDP(wider)
    except RuntimeError as exc:
        if SIZE > 1:
            assert "'0.weight'" in str(exc) and "(16, 5)" in str(exc) and "(17, 5)" in str(exc), str(exc)
    else:
        assert SIZE == 1, "different parameter shapes went unnoticed"
    deeper = _mlp((5, 16, 8, 3, 3) if RANK == 1 else (5, 16, 8, 3))
    try:
        DDP(deeper)
    except RuntimeError as exc:
        if SIZE > 1:
            assert "'6.weight'" in str(exc) and "no entry 6" in str(exc), str(exc)
    else:
        assert SIZE == 1, "a different parameter count went unnoticed"


def batchnorm_buffers_follow_rank0(_dir):
    bp.manual_seed(4)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2)).double()
    ddp = DDP(model)
    rng = np.random.default_rng(40 + RANK)
    ddp(bp.tensor(rng.normal(size=(5, 4)))).sum().backward()
    mine = {name: b.numpy().copy() for name, b in model.named_buffers()}
    rank0 = WORLD.bcast(mine, root=0)
    if SIZE > 1:
        assert not np.array_equal(WORLD.allgather(mine)[1]["1.running_mean"], rank0["1.running_mean"]), \
            "different batches should give different running statistics"
    ddp.eval()
    with bp.no_grad():
        ddp(bp.tensor(rng.normal(size=(5, 4))))
    for name, b in model.named_buffers():
        np.testing.assert_array_equal(b.numpy(), rank0[name], err_msg=f"buffer {name} is not rank 0's")


def save_checkpoint(directory):
    """Rank 0 saves after a few steps; the 3-rank launch and the test process load it."""
    model = _mlp(seed=9)
    ddp = DDP(model)
    opt = bp.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(3):
        x, y = _batch(step)
        opt.zero_grad()
        LOSS(ddp(_mine(x)), _mine(y)).backward()
        opt.step()
    if RANK == 0:
        bp.save(ddp.module.state_dict(), os.path.join(directory, "ddp.safetensors"))
        np.savez(os.path.join(directory, "ddp_expected.npz"),
                 **{name: t.detach().numpy() for name, t in model.state_dict().items()})
    dist.barrier()


def load_checkpoint(directory):
    path = os.path.join(directory, "ddp.safetensors")
    expected = np.load(os.path.join(directory, "ddp_expected.npz"))
    model = _mlp(seed=100 + RANK)
    model.load_state_dict(bp.load(path))
    for name, t in model.state_dict().items():
        np.testing.assert_array_equal(t.detach().numpy(), expected[name], err_msg=name)
    ddp = DDP(model)
    opt = bp.optim.SGD(model.parameters(), lr=0.1)
    x, y = _batch(0)
    LOSS(ddp(_mine(x)), _mine(y)).backward()
    opt.step()
    _assert_same_on_every_rank(model, "a step after loading the checkpoint")
