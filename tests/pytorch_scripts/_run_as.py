"""Runs a PyTorch script with `torch` bound to another library: python _run_as.py LIBRARY SCRIPT.

The script's text is not touched: its `import torch`, `import torch.nn as nn`, `from
torch.utils.data import DataLoader` find the library's modules under torch's names, which is
what `import backprop as torch` does for a script's one import line.
"""

import importlib
import runpy
import sys

SUBMODULES = ("nn", "nn.functional", "nn.init", "nn.utils", "optim", "optim.lr_scheduler", "autograd",
              "utils", "utils.data")


def main(library, script):
    if library != "torch":
        lib = importlib.import_module(library)
        sys.modules["torch"] = lib
        for name in SUBMODULES:
            sys.modules[f"torch.{name}"] = importlib.import_module(f"{library}.{name}")
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
