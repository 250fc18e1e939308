"""The environment every benchmark child process runs in.

A user's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are dropped (older OpenBLAS builds needed them on
some CPUs; a current NumPy runs slower with them). When backprop is forced to a kernel kind
narrower than the CPU's (BACKPROP_CPU_CAPABILITY=avx2 on an AVX-512 machine), the peers are held
to the same instruction set, as they would be on a machine that has no more: PyTorch's ATen
kernels, MKL and oneDNN, NumPy's SIMD loops and OpenBLAS's kernels all take their AVX2 paths.
Without this an "AVX2 machine" row would compare backprop's AVX2 code with the peers' AVX-512.
"""

import os

USER_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _numpy_avx512_targets():
    """NumPy's dispatch targets above AVX2 (their names changed between NumPy 1 and 2)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_dispatch__
        except ImportError:
            return []
    return [t for t in __cpu_dispatch__ if "AVX512" in t or t == "X86_V4"]


def peer_isa_vars(kind):
    """Variables that hold PyTorch, MKL, oneDNN, NumPy and OpenBLAS to `kind` (empty for the widest)."""
    if kind != "avx2":
        return {}
    env = {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell",  # what OpenBLAS picks on AVX2-only Intel and AMD (Zen) CPUs
    }
    targets = _numpy_avx512_targets()
    if targets:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(targets)
    return env


def child_env(base=None, drop=(), **extra):
    """os.environ (or `base`) without the user's OpenBLAS tuning and `drop`, plus `extra`, plus the
    peers' instruction-set limits for the kind BACKPROP_CPU_CAPABILITY forces."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in USER_OPENBLAS_VARS and k not in drop}
    env.update(extra)
    env.update(peer_isa_vars(env.get("BACKPROP_CPU_CAPABILITY", "")))
    return env
