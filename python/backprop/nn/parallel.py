"""Data parallelism across processes: DistributedDataParallel, as in torch.nn.parallel.

Each rank holds a replica of the model and feeds it its own part of the batch; after
``loss.backward()`` every replica holds the gradient averaged over all ranks, so identical optimizer
steps keep the replicas identical.

How the gradients are reduced (the reducer below): the parameters are split into buckets, in reverse
order of registration since that is roughly the order backward produces their gradients, the
first bucket small (1 MB) so communication starts early and the others up to ``bucket_cap_mb``. A
gradient hook on every parameter copies the parameter's gradient for this backward, plus the
gradient it already holds, into its bucket slot; when a bucket is complete a non-blocking
allreduce starts on it while backward goes on through the earlier layers, and every later hook
lets MPI advance it. The hook of the last parameter to get its gradient waits for all buckets and
writes the averages into every ``.grad``, so ``backward()`` returns with averaged gradients and no
wrapper around ``backward`` is needed. Buckets start strictly in order, which keeps the sequence
of collectives the same on every rank, as MPI requires.
"""

import contextlib
import time
import weakref

import numpy as np

from .. import _core
from .._core import Tensor
from .module import Module

__all__ = ["DistributedDataParallel"]

# PyTorch's sizes: a small first bucket starts communicating early, the rest amortise latency.
_FIRST_BUCKET_BYTES = 1 << 20
_DEFAULT_BUCKET_CAP_MB = 25


def _dist():
    # Imported on first use: importing backprop (and backprop.nn) must not start MPI.
    from .. import distributed

    return distributed


def _tensors(obj):
    """The tensors in a module's output: a tensor, or sequences and dicts of them."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _reached_parameters(outputs, params):
    """Which of `params` the autograd graph of `outputs` leads to (for find_unused_parameters)."""
    # The walk keeps every node's Python wrapper alive, so the wrapper of a parameter's
    # AccumulateGrad node found below is the very object met in the walk when it is in the graph.
    seen = {}
    stack = [t.grad_fn for t in _tensors(outputs) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(child for child, _ in node.next_functions if child is not None and id(child) not in seen)
    leaves = {id(t) for t in _tensors(outputs) if t.grad_fn is None}
    used = np.zeros(len(params), dtype=np.int32)
    for j, p in enumerate(params):
        accumulator = p.view(p.shape).grad_fn.next_functions[0][0]  # a view: nothing is copied
        used[j] = id(accumulator) in seen or id(p) in leaves
    return used


class _Bucket:
    def __init__(self, index, members, params, dtype):
        self.index = index
        self.members = members  # parameter indices, in the order they are laid out
        self.offsets = {}
        offset = 0
        for j in members:
            self.offsets[j] = offset
            offset += params[j].numel()
        self.buffer = np.empty(offset, dtype=dtype)
        self.pending = len(members)


def _numpy_dtype(t):
    return t.numpy(force=True).dtype


class _Reducer:
    """Averages the gradients of `params` across the group during backward (see the module docstring)."""

    def __init__(self, names, params, group, bucket_cap_bytes, first_bucket_bytes, find_unused):
        self.names, self.params, self.group = names, params, group
        self.layout = [(tuple(p.shape), p.dtype) for p in params]
        self.find_unused = find_unused
        self.buckets = self._assign(bucket_cap_bytes, first_bucket_bytes)
        self.bucket_of = {j: b for b in self.buckets for j in b.members}
        self.trace = None  # a list to record hook, launch and completion events in (tests use it)
        self.stats = {"buckets": len(self.buckets), "bytes": sum(b.buffer.nbytes for b in self.buckets),
                      "wait_seconds": 0.0, "backward_seconds": 0.0}
        self.expect = False
        self.started = False
        this = weakref.ref(self)  # the hooks live as long as the parameters; the reducer need not
        for j, p in enumerate(params):
            p.register_hook(lambda grad, j=j: _hook(this, j, grad))

    def _assign(self, cap_bytes, first_bytes):
        groups, open_groups, limits = [], {}, {}
        for j in reversed(range(len(self.params))):
            p = self.params[j]
            dtype = _numpy_dtype(p)
            members, size = open_groups.pop(dtype, ([], 0))
            members.append(j)
            size += p.numel() * dtype.itemsize
            if size >= limits.get(dtype, first_bytes):
                groups.append((members, dtype))
                limits[dtype] = cap_bytes
            else:
                open_groups[dtype] = (members, size)
        groups.extend((members, dtype) for dtype, (members, _) in open_groups.items())
        return [_Bucket(k, members, self.params, dtype) for k, (members, dtype) in enumerate(groups)]

    def _event(self, *event):
        if self.trace is not None:
            self.trace.append(event)

    # ---- one iteration ------------------------------------------------------------------------
    def check_finished(self):
        """Raises if the last backward began reducing but some parameters never got a gradient."""
        if self.expect and self.started:
            missing = [f"'{self.names[j]}'" for j in range(len(self.params)) if not self.ready[j]]
            self.expect = False
            # Every rank launched the same buckets: complete them so the group stays in step.
            for k in range(self.next_complete, self.next_launch):
                self.works[k].wait()
            raise RuntimeError(
                "DistributedDataParallel: the previous backward produced no gradient for parameter(s) "
                f"{', '.join(missing)}, so the gradient reduction could not finish and .grad was not averaged. "
                "Pass find_unused_parameters=True to DistributedDataParallel when some parameters take no part "
                "in the loss, or make every output that uses them part of the loss."
            )

    def prepare(self, outputs):
        """Called by forward: the next backward through `outputs` reduces the gradients."""
        n = len(self.params)
        for j, p in enumerate(self.params):
            if (tuple(p.shape), p.dtype) != self.layout[j]:
                shape, dtype = self.layout[j]
                raise RuntimeError(f"DistributedDataParallel: parameter '{self.names[j]}' is now {tuple(p.shape)} "
                                   f"{p.dtype} but was {shape} {dtype} when it was wrapped; change the model "
                                   "(e.g. .double()) before wrapping it")
        self.expect, self.started = True, False
        self.ready = [False] * n
        self.num_ready = 0
        self.next_launch = self.next_complete = 0
        self.works = [None] * len(self.buckets)
        for b in self.buckets:
            b.pending = len(b.members)
        self.used = _reached_parameters(outputs, self.params) if self.find_unused else np.ones(n, dtype=np.int32)

    def on_gradient(self, j, grad):
        if not self.expect:
            return None  # a backward that no DDP forward prepared, or one under no_sync()
        if not self.started:
            self.started = True
            self.t_start = time.perf_counter()
            for k in np.flatnonzero(self.used == 0):
                self._mark_ready(int(k), None)
        if self.ready[j]:
            raise RuntimeError(f"DistributedDataParallel: parameter '{self.names[j]}' got a second gradient in "
                               "one backward; run forward again before each backward")
        self._event("hook", self.names[j])
        self._mark_ready(j, grad)
        if self.num_ready == len(self.params):
            return self._finish(j)
        self._poll()
        return None

    def _slot(self, j):
        b = self.bucket_of[j]
        offset = b.offsets[j]
        p = self.params[j]
        return b.buffer[offset:offset + p.numel()].reshape(tuple(p.shape))

    def _mark_ready(self, j, grad):
        slot = self._slot(j)
        held = self.params[j].grad
        # The bucket holds what .grad would be after this backward: the gradient already held
        # (gradient accumulation, no_sync) plus this backward's.
        if grad is None:
            if held is None:
                slot.fill(0)
            else:
                np.copyto(slot, held.numpy())
        elif held is None:
            np.copyto(slot, grad.numpy())
        else:
            np.add(held.numpy(), grad.numpy(), out=slot)
        self.ready[j] = True
        self.num_ready += 1
        b = self.bucket_of[j]
        b.pending -= 1
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            self._launch(self.buckets[self.next_launch])
            self.next_launch += 1

    def _launch(self, b):
        dist = _dist()
        name = (f"all_reduce of DistributedDataParallel gradient bucket {b.index} of {len(self.buckets)} "
                f"({b.buffer.nbytes} bytes)")
        self.works[b.index] = dist._start_all_reduce(b.buffer, dist.ReduceOp.AVG, self.group, name)
        self._event("launch", b.index)

    def _poll(self):
        # One test of the oldest pending request lets MPI advance all of them.
        while self.next_complete < self.next_launch and self.works[self.next_complete].is_completed():
            self._event("complete", self.next_complete)
            self.next_complete += 1

    def _finish(self, current):
        dist = _dist()
        self.expect = False  # also when a wait below fails: the group is unusable then anyway
        t_wait = time.perf_counter()
        for k in range(self.next_complete, len(self.buckets)):
            self.works[k].wait()
            self._event("complete", k)
        self.next_complete = len(self.buckets)
        used = self.used
        if self.find_unused:
            # Parameters no rank used keep their .grad untouched, as in PyTorch.
            used = self.used.copy()
            dist._start_all_reduce(used, dist.ReduceOp.MAX, self.group,
                                   "all_reduce of DistributedDataParallel's used-parameter map").wait()
        now = time.perf_counter()
        self.stats["wait_seconds"] = now - t_wait
        self.stats["backward_seconds"] = now - self.t_start
        for j, p in enumerate(self.params):
            if j == current or not used[j]:
                continue
            slot = self._slot(j)
            if p.grad is None:
                p.grad = _core.from_numpy(slot.copy())
            else:
                np.copyto(p.grad.numpy(), slot)
        self._event("finish")
        # The current parameter's AccumulateGrad runs after this hook: with .grad cleared it
        # stores a copy of what the hook returns, the average.
        self.params[current].grad = None
        return _core.from_numpy(self._slot(current))


def _hook(reducer_ref, j, grad):
    reducer = reducer_ref()
    return None if reducer is None else reducer.on_gradient(j, grad)


class DistributedDataParallel(Module):
    """Wraps `module` so that backward averages its gradients over the ranks of the process group.

    Call ``backprop.distributed.init_process_group()`` first. At construction every rank checks that
    it holds the same parameters as rank 0 (names, shapes, dtypes) and copies rank 0's parameters and
    buffers. Give each rank its own part of the data (``utils.data.DistributedSampler``).

    - ``no_sync()``: a context in which forward/backward only accumulate local gradients; the
      first synchronised backward after it averages the accumulated gradients.
    - ``find_unused_parameters=True``: forward walks the graph of its outputs, so that parameters
      that take no part in this iteration do not hold up the reduction. Without it every parameter
      must get a gradient in each backward.
    - ``broadcast_buffers=True``: each forward first copies rank 0's buffers (BatchNorm running
      statistics) to every rank.
    - ``comm_stats``: bucket count, bytes reduced per backward, and the seconds the last backward
      waited for communication after its last gradient was ready.

    The model's gradients are averaged, so the loss should be a mean over each rank's batch, with
    the same batch size on every rank, to match training on the concatenated batch.

    `check_reduction`, `gradient_as_bucket_view` and `static_graph` are accepted for PyTorch
    compatibility and change nothing: gradients are always copied into the buckets and back.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        op = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{op}: module must be a backprop.nn.Module, got {type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError(f"{op}: backprop runs on the CPU; leave device_ids and output_device unset")
        if dim != 0:
            raise ValueError(f"{op}: only dim=0 is supported")
        # As in PyTorch: the small first bucket applies to the default cap; a cap the caller
        # chose applies to every bucket.
        first_bucket_bytes = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else None
        if bucket_cap_mb is None:
            bucket_cap_mb = _DEFAULT_BUCKET_CAP_MB
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or not bucket_cap_mb > 0:
            raise ValueError(f"{op}: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        dist = _dist()
        group = dist._group(process_group, op)
        self.module = module
        self.process_group = group
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        self._buffer_list = list(module.named_buffers())
        _check_same_model(module, group)
        works = [dist._start_broadcast(t, 0, group, f"broadcast of '{name}' from rank 0 (DistributedDataParallel "
                                                     "construction)")
                 for name, t in list(module.named_parameters()) + self._buffer_list]
        for w in works:
            w.wait()
        cap = int(bucket_cap_mb * 1024 * 1024)
        self.reducer = _Reducer([n for n, _ in named], [p for _, p in named], group, cap,
                                cap if first_bucket_bytes is None else first_bucket_bytes, find_unused_parameters)

    @property
    def comm_stats(self):
        return dict(self.reducer.stats)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates each rank's own gradients without communicating."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def forward(self, *inputs, **kwargs):
        reducer = self.reducer
        reducer.check_finished()
        multi = self.process_group.size() > 1
        if multi and self.broadcast_buffers and self._buffer_list:
            dist = _dist()
            works = [dist._start_broadcast(t, 0, self.process_group,
                                           f"broadcast of buffer '{name}' from rank 0 "
                                           "(DistributedDataParallel forward)")
                     for name, t in self._buffer_list]
            for w in works:
                w.wait()
        outputs = self.module(*inputs, **kwargs)
        if multi and self.require_backward_grad_sync and _core.is_grad_enabled() and reducer.params:
            reducer.prepare(outputs)
        return outputs


def _describe(entry, index):
    if entry is None:
        return f"no entry {index}"
    kind, name, shape, dtype, requires_grad = entry
    return f"{kind} '{name}' of shape {shape}, {dtype}{', requires_grad' if requires_grad else ''}"


def _check_same_model(module, group):
    """Raises on every rank, naming the first parameter or buffer that differs from rank 0's."""
    dist = _dist()
    mine = [("parameter", name, tuple(p.shape), str(p.dtype), p.requires_grad)
            for name, p in module.named_parameters()]
    mine += [("buffer", name, tuple(b.shape), str(b.dtype), False) for name, b in module.named_buffers()]
    everyone = [None] * group.size()
    dist.all_gather_object(everyone, mine, group=group)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        for i in range(max(len(reference), len(theirs))):
            a = reference[i] if i < len(reference) else None
            b = theirs[i] if i < len(theirs) else None
            if a != b:
                raise RuntimeError(
                    f"DistributedDataParallel: every rank must wrap the same model, but entry {i} of the model's "
                    f"parameters and buffers differs: rank 0 has {_describe(a, i)}, rank {rank} has {_describe(b, i)} "
                    f"(rank 0 has {len(reference)} parameters and buffers, rank {rank} has {len(theirs)})"
                )
