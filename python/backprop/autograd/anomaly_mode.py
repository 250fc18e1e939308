"""Anomaly detection: find the forward line behind a NaN or infinity in backward, as in PyTorch.

The check itself is in the C++ engine (C++ users get it too); this module only switches it.
"""

import functools

from .. import _core


def is_anomaly_enabled():
    """Whether anomaly mode is on."""
    return _core.is_anomaly_enabled()


def is_anomaly_check_nan_enabled():
    """Whether anomaly mode checks backward's gradients for NaN and infinity."""
    return _core.is_anomaly_check_nan_enabled()


class set_detect_anomaly:
    """Turns anomaly mode on or off, at once; used with `with`, the previous mode comes back on exit.

    In anomaly mode every node remembers the Python stack of the forward call that made it, and a
    backward function that returns a NaN or an infinity stops backward with a RuntimeError naming
    the node (LogBackward0, ...) and showing that stack. It makes forward slow (a stack capture per
    op): use it to find a bug, not to train.
    """

    def __init__(self, mode, check_nan=True):
        self._prev = (_core.is_anomaly_enabled(), _core.is_anomaly_check_nan_enabled())
        _core._set_detect_anomaly(bool(mode), bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_detect_anomaly(*self._prev)
        return False


class detect_anomaly:
    """Anomaly mode for a `with` block or a decorated function (see set_detect_anomaly)."""

    def __init__(self, check_nan=True):
        self._check_nan = bool(check_nan)

    def __enter__(self):
        self._prev = (_core.is_anomaly_enabled(), _core.is_anomaly_check_nan_enabled())
        _core._set_detect_anomaly(True, self._check_nan)
        return self

    def __exit__(self, *exc):
        _core._set_detect_anomaly(*self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self._check_nan):
                return fn(*args, **kwargs)

        return wrapper
