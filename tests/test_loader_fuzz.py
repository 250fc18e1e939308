"""Mutated safetensors files never crash or hang the loader, and fail only with SerializationError.

A few hundred files are derived deterministically from valid ones: truncations, byte flips,
header-length and field mutations, bad UTF-8, deep nesting, huge dims, overlapping ranges,
duplicate keys, corrupted structure records. Child processes load them in batches and report
file by file; a child that dies or stalls is replaced, and the file it was on is loaded alone to
confirm. BACKPROP_FUZZ_SEED and BACKPROP_FUZZ_FILES pick another or a larger run locally.
"""

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import backprop as bp

SEED = int(os.environ.get("BACKPROP_FUZZ_SEED", "8"))
COUNT = int(os.environ.get("BACKPROP_FUZZ_FILES", "400"))
BATCH = 50
# Generous: a batch takes about a second; only a hang comes near this.
TIMEOUT_S = 120

_CHILD = r"""
import sys
import backprop as bp

def touch(x):
    # Reading every value makes a tensor with a bad geometry or bad bytes show itself.
    if isinstance(x, bp.Tensor):
        if x.numel() <= 1_000_000:
            x.sum().item() if x.dtype != bp.bool else x.any().item()
    elif isinstance(x, dict):
        for v in x.values():
            touch(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            touch(v)

for line in sys.stdin:
    index, path = line.rstrip("\n").split(" ", 1)
    print("BEGIN", index, flush=True)
    try:
        touch(bp.load(path))
        print("OK", index, flush=True)
    except bp.SerializationError:
        print("ERR", index, flush=True)
    except BaseException as e:
        print("BAD", index, type(e).__name__ + ":", str(e)[:300].replace("\n", " "), flush=True)
"""


# ---- the files -----------------------------------------------------------------------------------


def _split(data):
    n = int.from_bytes(data[:8], "little")
    return data[8:8 + n], data[8 + n:]


def _join(header, body, length=None):
    if isinstance(header, str):
        header = header.encode("utf-8", "surrogatepass")
    return (len(header) if length is None else length).to_bytes(8, "little") + header + body


def _seeds(tmp_path):
    bp.manual_seed(0)
    flat = {"w": bp.randn(3, 4), "b": bp.zeros(4, dtype=bp.float64), "i": bp.arange(5),
            "m": bp.tensor([True, False, True]), "s": bp.tensor(2.5), "e": bp.zeros(0, 2)}
    tree = {"model": {"layer.weight": bp.ones(2, 2)},
            "optim": {"state": {0: {"step": bp.tensor(3.0), "exp_avg": bp.zeros(2)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
            "epoch": 7, "name": "run-1", "none": None, 0: bp.ones(1), "0": bp.zeros(1)}
    seeds = []
    for i, obj in enumerate([flat, tree]):
        path = tmp_path / f"seed{i}.safetensors"
        bp.save(obj, path)
        seeds.append(path.read_bytes())
    header = ('{"__metadata__":{"format":"pt","caf\\u00e9":"\\ud83d\\ude00"},'
              '"z":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},'
              '"\\u00e9":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},'
              '"f":{"dtype":"F64","shape":[1,1],"data_offsets":[16,24]}}    ')
    seeds.append(_join(header, bytes(range(24))))
    return seeds


_BAD_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80"]
_DTYPES = ["F16", "BF16", "I32", "U8", "", "f32", 0, None, ["F32"], "F32\u0000", "BOOL", "F64", "I64", "\ud800"]
_SHAPES = [[-1], [2**63], [2**64], [2**62, 2**62, 0], [0, 2**62, 2**62], [1.5], ["1"], [[1]], [1] * 65, [],
           [0], [2**31, 2**31], None, {}, 7, [10**30], [1e400], [3, 4, 0], [2**40]]
_JSON_CHARS = b'{}[],:"\\ 0123456789-.eE'


def _deep(rng, opener, closer, depth=None):
    depth = depth or rng.choice([50, 127, 128, 129, 1000, 5000, 50000])
    return opener * depth + closer * depth


def _mutate_entry(rng, entries, metadata):
    names = [k for k in entries]
    if not names:
        entries["x"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
        return "added an entry to an empty header"
    name = rng.choice(names)
    e = entries[name]
    if not isinstance(e, dict):
        entries[name] = {}
        return f"{name}: emptied"
    what = rng.randrange(12)
    if what == 0:
        e["dtype"] = rng.choice(_DTYPES)
        return f"{name}: dtype {e['dtype']!r}"
    if what == 1:
        e["shape"] = rng.choice(_SHAPES)
        return f"{name}: shape {e['shape']!r}"[:120]
    if what == 2:
        b, end = e.get("data_offsets", [0, 0])[:2] if isinstance(e.get("data_offsets"), list) else (0, 0)
        choices = [[end, b], [b, end + 1], [b - 1, end], [b, 2**64 - 1], [b], [b, end, end], [-1, end], None,
                   [b + 1, end + 1], [0, end], [b, 2**64], [b * 1.0, end], [str(b), end]]
        others = [entries[n].get("data_offsets") for n in names if n != name and isinstance(entries[n], dict)]
        choices += others  # overlap or duplicate another entry's range
        e["data_offsets"] = rng.choice(choices)
        return f"{name}: data_offsets {e['data_offsets']!r}"
    if what == 3:
        field = rng.choice(["dtype", "shape", "data_offsets"])
        e.pop(field, None)
        return f"{name}: removed {field}"
    if what == 4:
        field = rng.choice(["dtype", "shape", "data_offsets"])
        if field in e:
            e[field.upper()] = e.pop(field)
        return f"{name}: renamed {field}"
    if what == 5:
        e["extra"] = rng.choice([{"a": [1, {"b": None}]}, "x", 1e308, [], True])
        return f"{name}: unknown field"
    if what == 6:
        entries[name] = rng.choice([[1, 2], "F32", 3, None, True, []])
        return f"{name}: entry is {entries[name]!r}"
    if what == 7:
        entries[name + "\ud800"] = entries.pop(name)
        return f"{name}: lone surrogate in the name"
    if what == 8:
        entries["__metadata__"] = rng.choice([{"k": 1}, {"k": None}, {"k": {"x": "y"}}, ["k", "v"], "meta", 5,
                                              {"k": ["v"]}, None, {}])
        return f"metadata {entries['__metadata__']!r}"
    if what == 9:
        e["shape"] = [rng.randrange(1, 2**rng.randrange(1, 63))]
        size = e["shape"][0] * 4
        e["dtype"] = "F32"
        e["data_offsets"] = [0, size]
        return f"{name}: huge dim {e['shape']} with matching offsets"
    if what == 10:
        other = rng.choice(names)
        entries[name], entries[other] = entries.get(other), entries.get(name)
        return f"swapped {name} and {other}"
    if metadata is not None and "backprop.tree" in metadata:
        return _mutate_tree(rng, metadata)
    entries.pop(name)
    return f"{name}: removed"


def _mutate_tree(rng, metadata):
    record = metadata["backprop.tree"]
    what = rng.randrange(6)
    if what == 0:
        cut = rng.randrange(len(record) + 1)
        metadata["backprop.tree"] = record[:cut]
        return f"tree record cut at {cut}"
    if what == 1:
        pos = rng.randrange(len(record))
        metadata["backprop.tree"] = record[:pos] + chr(rng.choice(_JSON_CHARS)) + record[pos + 1:]
        return f"tree record char at {pos}"
    if what == 2:
        metadata["backprop.tree"] = _deep(rng, "[", "]")
        return "tree record deeply nested lists"
    if what == 3:
        depth = rng.choice([100, 600, 3000])
        metadata["backprop.tree"] = '{"__dict__": [["a", ' * depth + "1" + "]]}" * depth
        return f"tree record {depth} nested dicts"
    if what == 4:
        metadata["backprop.tree"] = json.dumps(rng.choice([
            {"__tensor__": "missing"}, {"__tensor__": 5}, {"__tuple__": 3}, {"__dict__": [[1.5, 1]]},
            {"__dict__": [1]}, {"a": 1}, {"__tensor__": "w", "__tuple__": []}, {"__dict__": [["a", 1], ["a", 2]]},
        ]))
        return f"tree record {metadata['backprop.tree']}"
    metadata.pop("backprop.tree")
    return "tree record removed"


def _mutate(rng, seed):
    header, body = _split(seed)
    kind = rng.randrange(13)
    if kind == 0:
        cut = rng.randrange(len(seed))
        return seed[:cut], f"truncated to {cut} bytes"
    if kind in (1, 2):
        data = bytearray(seed)
        lo, hi = (0, len(data)) if kind == 1 else (8, 8 + len(header))
        flips = rng.randrange(1, 9)
        for _ in range(flips):
            data[rng.randrange(lo, hi)] ^= rng.randrange(1, 256)
        return bytes(data), f"{flips} byte flips in {'the file' if kind == 1 else 'the header'}"
    if kind == 3:
        n = len(header)
        length = rng.choice([0, 1, 2, n - 1, n + 1, len(seed), len(seed) - 8, 2**63, 2**64 - 1, 100_000_001,
                             rng.randrange(2**64), rng.randrange(2 * n + 2)])
        return _join(header, body, length), f"header length {length}"
    if kind == 4:
        pos = rng.randrange(len(header))
        ch = bytes([rng.choice(_JSON_CHARS)])
        mutated = header[:pos] + ch + header[pos + rng.randrange(2):]
        return _join(mutated, body), f"header char {ch!r} at {pos}"
    if kind == 5:
        pos = rng.randrange(len(header))
        bad = rng.choice(_BAD_UTF8)
        return _join(header[:pos] + bad + header[pos:], body), f"bad UTF-8 {bad!r} at {pos}"
    if kind == 6:
        where = rng.randrange(3)
        nest = _deep(rng, "[", "]") if rng.random() < 0.7 else _deep(rng, '{"a":', "}")[:-1] + "1}"
        if where == 0:
            text = '{"x":' + nest + "}"
        elif where == 1:
            extra = ',"y":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"z":'
            text = header.decode().rstrip()[:-1] + extra + nest + "}}"
        else:
            text = '{"__metadata__":' + nest + "}"
        return _join(text, body), f"deep nesting ({len(nest)} chars) in position {where}"
    if kind == 7:
        # Duplicate a key by text, keeping the JSON valid.
        text = header.decode().rstrip()
        entries = json.loads(text)
        name = rng.choice(list(entries))
        dup = json.dumps({name: entries[name]})[1:-1]
        return _join(text[:-1] + "," + dup + "}", body), f"duplicate key {name!r}"
    if kind == 8:
        size = rng.randrange(0, 200)
        junk = bytes(rng.randrange(256) for _ in range(size))
        return _join(junk, b""), f"{size} random header bytes"
    if kind == 9:
        other = _split(_SEEDS_CACHE[rng.randrange(len(_SEEDS_CACHE))])[1]
        return _join(header, other), "header with another file's data"
    # Structural mutations of the parsed header, written back with a correct length.
    entries = json.loads(header.decode())
    metadata = entries.get("__metadata__")
    descriptions = []
    for _ in range(rng.randrange(1, 4)):
        if kind == 10 and isinstance(metadata, dict) and "backprop.tree" in metadata:
            descriptions.append(_mutate_tree(rng, metadata))
        else:
            descriptions.append(_mutate_entry(rng, entries, metadata))
    text = json.dumps(entries, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.3:
        text += " " * rng.randrange(1, 8)
    return _join(text, body), "; ".join(descriptions)


_SEEDS_CACHE = []


def _corpus(tmp_path):
    seeds = _seeds(tmp_path)
    _SEEDS_CACHE[:] = seeds
    rng = random.Random(SEED)
    files = [(seed, "unmutated seed") for seed in seeds]
    while len(files) < COUNT:
        data, what = _mutate(rng, rng.choice(seeds))
        files.append((data, what))
    paths = []
    for i, (data, _) in enumerate(files):
        path = tmp_path / f"fuzz{i:04d}.safetensors"
        path.write_bytes(data)
        paths.append(str(path))
    return paths, [what for _, what in files], len(seeds)


# ---- the runner ----------------------------------------------------------------------------------


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _load_in_child(items):
    """Loads [(index, path)] in one child. Returns ({index: outcome}, the index it died or stalled
    on or None, and how: 'died (signal N)' / 'hung')."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    stdin = "".join(f"{i} {p}\n" for i, p in items)
    try:
        out, err = proc.communicate(stdin, timeout=TIMEOUT_S)
        how = None if proc.returncode == 0 else f"died (exit status {proc.returncode}) {err[-300:]!r}"
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        how = "hung"
    outcomes, current = {}, None
    for line in out.splitlines():
        tag, _, rest = line.partition(" ")
        index, _, detail = rest.partition(" ")
        if tag == "BEGIN":
            current = int(index)
        elif tag in ("OK", "ERR", "BAD"):
            outcomes[int(index)] = (tag, detail)
            current = None
    if how is None:
        return outcomes, None, None
    if current is None:  # died before its first file (or between two): blame the next one
        done = set(outcomes)
        current = next((i for i, _ in items if i not in done), None)
    return outcomes, current, how


def _load_all(items):
    """Runs `items` through children until every file has an outcome."""
    outcomes, pending = {}, list(items)
    while pending:
        got, culprit, how = _load_in_child(pending)
        outcomes.update(got)
        if culprit is None:
            assert how is None, f"a child {how} after loading all its files"
            break
        # Confirm alone: a file that kills a fresh child is the crash; one that does not still
        # broke a child that had loaded the files before it.
        alone, again, how_alone = _load_in_child([(culprit, dict(pending)[culprit])])
        outcomes[culprit] = ("CRASH", how_alone) if again is not None else ("CRASH", f"{how} after earlier files")
        pending = [(i, p) for i, p in pending if i not in outcomes]
    return outcomes


def test_mutated_files_only_raise_serialization_error(tmp_path):
    paths, whats, n_seeds = _corpus(tmp_path)
    items = list(enumerate(paths))
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    outcomes = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for got in pool.map(_load_all, batches):
            outcomes.update(got)

    assert len(outcomes) == len(paths)
    problems = [f"file {i} ({whats[i]}): {tag} {detail}" for i, (tag, detail) in sorted(outcomes.items())
                if tag not in ("OK", "ERR")]
    assert not problems, (f"seed {SEED}: {len(problems)} of {len(paths)} files broke the loader "
                          f"(files kept in {tmp_path}):\n" + "\n".join(problems[:40]))
    # The seeds are valid, and the mutations mostly are not: otherwise this tests nothing.
    assert all(outcomes[i][0] == "OK" for i in range(n_seeds)), [outcomes[i] for i in range(n_seeds)]
    rejected = sum(tag == "ERR" for tag, _ in outcomes.values())
    assert rejected > len(paths) // 2, f"only {rejected} of {len(paths)} mutated files were rejected"
