"""A data-parallel training run in which rank 1 fails at step 3, started under mpirun by
tests/test_distributed.py:

    mpirun -n 2 python tests/distributed/fault.py MODE TIMEOUT_SECONDS

MODE is how rank 1 fails: ``exit`` (sys.exit: Python finalizes MPI, which waits for the others),
``hang`` (stops taking part without exiting) or ``kill`` (os._exit, the process vanishes). The
other ranks print ``step N`` after each step; they must end with a RuntimeError naming the
collective that waited, after which the job ends.
"""

import os
import sys
import time

import numpy as np

import backprop as bp
import backprop.distributed as dist
from backprop import nn
from backprop.nn.parallel import DistributedDataParallel as DDP

mode, timeout = sys.argv[1], float(sys.argv[2])
dist.init_process_group(timeout=timeout)
rank = dist.get_rank()
model = DDP(nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2)))
opt = bp.optim.SGD(model.parameters(), lr=0.1)
rng = np.random.default_rng(rank)
for step in range(10):
    if rank == 1 and step == 3:
        if mode == "exit":
            sys.exit(3)
        if mode == "hang":
            time.sleep(600)
        if mode == "kill":
            os._exit(3)
    x = bp.tensor(rng.normal(size=(4, 8)).astype(np.float32))
    opt.zero_grad()
    out = model(x)
    (out * out).mean().backward()
    opt.step()
    print(f"step {step}", flush=True)
