"""Rank-side runner for tests/test_distributed.py, started under mpirun.

    mpirun -n 2 python tests/distributed/checks.py --dir DIR CHECK [CHECK ...]

Every rank runs the named checks (functions of collective_checks.py and ddp_checks.py) in order. After
each check the ranks exchange their outcome, and rank 0 prints one line per check:
``RESULT {"check": ..., "ok": ..., "errors": {rank: message}}``. Running many checks in one launch keeps
the mpirun start-up cost (about a second) out of each test.
"""

import argparse
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backprop.distributed as dist  # noqa: E402
from mpi4py import MPI  # noqa: E402

import collective_checks  # noqa: E402
import ddp_checks  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, help="a folder shared by the ranks and the test")
    parser.add_argument("checks", nargs="+")
    args = parser.parse_args()
    dist.init_process_group(timeout=60)
    world = MPI.COMM_WORLD
    for name in args.checks:
        fn = getattr(collective_checks, name, None) or getattr(ddp_checks, name)
        try:
            fn(args.dir)
            error = None
        except Exception:  # noqa: BLE001  (reported to the test, which fails with it)
            error = traceback.format_exc()
        errors = world.allgather(error)
        if world.rank == 0:
            failed = {rank: e for rank, e in enumerate(errors) if e is not None}
            print("RESULT " + json.dumps({"check": name, "ok": not failed, "errors": failed}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
