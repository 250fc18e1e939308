"""The child side of the misuse sweep: runs the named cases one after another in this process.

Usage: python _sweep_child.py RESULTS_FILE < names.json

Before each case it appends {"begin": name} to RESULTS_FILE, after it {"name", "ok", "detail"};
each record is one write(2) on an O_APPEND descriptor, so whatever was written survives the
process being killed by a signal, and the parent can tell which case was running when it died.
"""

import faulthandler
import json
import os
import signal
import sys
import time
import warnings

# Cases that test the sweep's own machinery (test_misuse_sweep.py): each ends its child in one way.
SELF_TESTS = {
    "selftest:segv": lambda: os.kill(os.getpid(), signal.SIGSEGV),
    "selftest:hang": lambda: time.sleep(3600),
    "selftest:exit": lambda: os._exit(3),
}


def _self_test(name):
    SELF_TESTS.get(name, lambda: None)()
    return (False, "self-test failure") if name == "selftest:fail" else (True, "")


def main():
    # A crash then prints the Python stack of the case, which the parent shows; not under a
    # sanitizer, whose own report (with the faulting address) it would replace.
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):
        faulthandler.enable()
    path = sys.argv[1]
    names = json.load(sys.stdin)
    import backprop as bp
    from _sweep_cases import all_cases

    cases = all_cases()
    threads = bp.get_num_threads()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(obj):
        os.write(fd, (json.dumps(obj) + "\n").encode())

    for name in names:
        record({"begin": name})
        # The state conftest's autouse fixture gives each test.
        bp.manual_seed(0)
        bp.autograd.set_grad_enabled(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name.startswith("selftest:"):
                ok, detail = _self_test(name)
            elif name in cases:
                ok, detail = cases[name].verdict()
            else:
                ok, detail = False, f"no sweep case named {name}"
        bp.autograd.set_grad_enabled(True)
        if bp.get_num_threads() != threads:
            bp.set_num_threads(threads)
        record({"name": name, "ok": ok, "detail": detail})
    os.close(fd)


if __name__ == "__main__":
    main()
