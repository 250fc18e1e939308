"""Misuse sweep: every case of _sweep_cases.py (and every test of test_errors.py) runs in a child
process and must give its expected exception or the right answer, never kill the interpreter.

Cases run in a few batches, one child per batch. When a child dies (a signal, a sanitizer report,
a non-zero exit), the case it died in is run again alone and the rest of the batch goes on in a
new child, so a crash fails exactly the case that causes it. A case that runs too long is killed
and fails as hung.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import backprop
from _sweep_cases import all_cases

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 100
# Generous: the slowest case takes a few seconds, a sanitizer build is several times slower, and
# the machine may be shared.
CASE_TIMEOUT = 90.0

NAMES = sorted(all_cases())


def _env(extra=None):
    env = dict(os.environ, **(extra or {}))
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(backprop.__file__)))
    # The child imports the same backprop as this process, and the case modules from here.
    path = [HERE, package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def _read(path):
    """({name: (ok, detail)}, the case begun but not finished or None) from a results file."""
    results, running = {}, None
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a record still being written
            rec = json.loads(line)
            if "begin" in rec:
                running = rec["begin"]
            else:
                results[rec["name"]] = (rec["ok"], rec["detail"])
                running = None
    return results, running


def run_child(names, case_timeout=CASE_TIMEOUT, env=None):
    """Runs `names` in one child: (verdicts of the finished cases, the case it stopped in, how it
    ended: None for a clean exit, else a description with the tail of its stderr)."""
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        results_path = os.path.join(tmp, "results.jsonl")
        open(results_path, "w").close()
        with open(os.path.join(tmp, "names.json"), "w+") as names_file, \
                open(os.path.join(tmp, "stderr"), "w+b") as err:
            json.dump(names, names_file)
            names_file.seek(0)
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "_sweep_child.py"), results_path],
                stdin=names_file, stdout=subprocess.DEVNULL, stderr=err, env=_env(env), cwd=HERE,
            )
            # Poll instead of one overall timeout: a hang costs one case's timeout, however long
            # the batch.
            seen, since = None, time.monotonic()
            hung = False
            while proc.poll() is None:
                time.sleep(0.05)
                _, running = _read(results_path)
                progress = (running, len(_read(results_path)[0]))
                if progress != seen:
                    seen, since = progress, time.monotonic()
                elif time.monotonic() - since > case_timeout:
                    proc.kill()
                    proc.wait()
                    hung = True
            err.seek(0)
            tail = err.read()[-3000:].decode(errors="replace")
        results, running = _read(results_path)
    if hung:
        return results, running, f"hung: no progress in {case_timeout:.0f} s; stderr tail:\n{tail}"
    if proc.returncode == 0:
        return results, running, None
    return results, running, f"{_exit_reason(proc.returncode)}; stderr tail:\n{tail}"


def _exit_reason(code):
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def judge(names, batch_size=BATCH, case_timeout=CASE_TIMEOUT, env=None):
    """{name: (ok, detail)} for every name; `env` adds to the children's environment."""
    verdicts = {}
    queue = [names[i:i + batch_size] for i in range(0, len(names), batch_size)]
    while queue:
        batch = queue.pop(0)
        results, running, ended = run_child(batch, case_timeout, env)
        verdicts.update(results)
        if ended is None and len(results) == len(batch):
            continue
        ended = ended or "exit status 0 before finishing its cases"
        done = [n for n in batch if n in results]
        if not done and running is None:
            for name in batch:
                verdicts[name] = (False, f"the child died before its first case: {ended}")
            continue
        if running is None and len(done) == len(batch):
            # Every case finished, then the child died on its way out: find who leaves it broken.
            for name in done:
                _, _, e = run_child([name], case_timeout, env)
                if e is not None:
                    verdicts[name] = (False, f"its child, alone, ends badly: {e}")
            if all(verdicts[n][0] for n in done):
                for name in done:
                    verdicts[name] = (False, f"the batch child ran every case, then was {ended}")
            continue
        if running is None:
            running = done.pop()  # it died between cases: in the last one's aftermath
        rest = [n for n in batch if n not in results and n != running]
        if rest:
            queue.insert(0, rest)
        if ended.startswith("hung"):
            verdicts[running] = (False, ended)
            continue
        alone, _, alone_ended = run_child([running], case_timeout, env)
        if alone_ended is not None:
            verdicts[running] = (False, f"{alone_ended} (in a batch and again alone)")
            continue
        # Alone it lives: an earlier case of the batch may have corrupted memory. Find it.
        culprits = []
        for name in done:
            _, _, e = run_child([name], case_timeout, env)
            if e is not None:
                culprits.append(name)
                verdicts[name] = (False, f"its child, alone: {e}")
        if culprits:
            verdicts[running] = alone.get(running, (False, "no verdict"))
        else:
            verdicts[running] = (False, f"the batch child was {ended} in this case, though it lives alone; "
                                        f"the cases before it in the batch: {done}")
    return verdicts


@functools.lru_cache(maxsize=None)
def _verdicts():
    return judge(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_misuse_case(name):
    ok, detail = _verdicts()[name]
    assert ok, f"{name}: {detail}"


def test_sweep_includes_every_test_errors_case():
    import test_errors

    names = set(NAMES)
    for fn_name, fn in vars(test_errors).items():
        if fn_name.startswith("test_") and callable(fn):
            assert any(n == f"errors.{fn_name}" or n.startswith(f"errors.{fn_name}[") for n in names), fn_name
    assert sum(n.startswith("errors.test_misuse_raises_not_crashes[") for n in names) == len(test_errors.MISUSE)


def test_a_crash_or_hang_fails_only_its_own_case():
    # The machinery itself, on the child's built-in self-test cases.
    names = ["selftest:ok", "selftest:segv", "selftest:ok2", "selftest:hang", "selftest:ok3", "selftest:fail"]
    # Under .ci/sanitize, ASan would report the deliberate SIGSEGV and so fail the job.
    quiet = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":handle_segv=0"}
    verdicts = judge(names, case_timeout=5, env=quiet)
    assert verdicts["selftest:ok"] == verdicts["selftest:ok2"] == verdicts["selftest:ok3"] == (True, "")
    assert not verdicts["selftest:segv"][0] and "SIGSEGV" in verdicts["selftest:segv"][1]
    assert not verdicts["selftest:hang"][0] and "hung" in verdicts["selftest:hang"][1]
    assert verdicts["selftest:fail"] == (False, "self-test failure")
    ok, detail = judge(["selftest:ok", "selftest:exit"], case_timeout=5, env=quiet)["selftest:exit"]
    assert not ok and "exit status 3" in detail
