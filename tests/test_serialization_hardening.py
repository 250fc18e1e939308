"""The loader treats files as hostile and the writer never leaves a broken or stray file.

One regression test per rule: each malformed file raises backprop.SerializationError naming the
file, files the safetensors specification allows still load, structures round-trip exactly, the
writer cleans up after itself and after killed writers, and save/load let other threads run.
"""

import json
import os
import random
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

import backprop as bp
from backprop import _core


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _file(tmp_path, header, data=b"", name="bad.safetensors", length=None):
    """A file with `header` (bytes, str, or an object dumped as JSON) and `data` after it."""
    if not isinstance(header, (bytes, str)):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + data)
    return path


def _e(dtype="F32", shape=(1,), offsets=(0, 4)):
    listed = lambda v: list(v) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return {"dtype": dtype, "shape": listed(shape), "data_offsets": listed(offsets)}


def _rejects(path, match):
    with pytest.raises(bp.SerializationError, match=match) as info:
        bp.load(path)
    assert str(path) in str(info.value) or os.fsdecode(path) in str(info.value)
    return info.value


def test_serialization_error_is_the_documented_runtime_error():
    assert bp.SerializationError is _core.SerializationError
    assert issubclass(bp.SerializationError, RuntimeError)
    assert bp.SerializationError.__module__ == "backprop"


# ---- the safetensors rules -----------------------------------------------------------------------

_F4 = b"\0" * 4
_F8 = b"\0" * 8

MALFORMED = [
    ("overlap", {"a": _e(shape=[2], offsets=[0, 8]), "b": _e(offsets=[4, 8])}, _F8, "overlaps"),
    ("zero_size_inside_range", {"a": _e(shape=[2], offsets=[0, 8]), "b": _e(shape=[0], offsets=[4, 4])}, _F8,
     "overlaps"),
    ("gap", {"a": _e(offsets=[0, 4]), "b": _e(offsets=[8, 12])}, b"\0" * 12, "belong to no tensor"),
    ("hole_at_start", {"a": _e(offsets=[4, 8])}, _F8, "belong to no tensor"),
    ("bytes_after_last", {"a": _e()}, _F8, "belong to no tensor"),
    ("end_before_begin", {"a": _e(shape=[0], offsets=[4, 0])}, _F4, "end before they begin"),
    ("offsets_past_end", {"a": _e(offsets=[0, 4])}, b"", "past the end"),
    ("shape_disagrees_with_range", {"a": _e(shape=[2], offsets=[0, 4])}, _F4, "need 8 bytes"),
    ("dtype_disagrees_with_range", {"a": _e(dtype="F64", offsets=[0, 4])}, _F4, "need 8 bytes"),
    ("duplicate_key", '{"a":%s,"a":%s}' % (json.dumps(_e()), json.dumps(_e(offsets=[4, 8]))), _F8, "twice"),
    ("duplicate_metadata", '{"__metadata__":{},"__metadata__":{}}', b"", "twice"),
    ("duplicate_metadata_key", '{"__metadata__":{"k":"1","k":"2"}}', b"", "twice"),
    ("duplicate_field", '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', _F4, "two"),
    ("header_is_array", "[]", b"", r"start with '\{'"),
    ("header_is_string", '"x"', b"", r"start with '\{'"),
    ("header_leading_space", ' {"a":%s}' % json.dumps(_e()), _F4, r"start with '\{'"),
    ("header_empty", "", b"", r"start with '\{'"),
    ("trailing_text", '{"a":%s} x' % json.dumps(_e()), _F4, "not valid JSON"),
    ("two_objects", '{}{}', b"", "not valid JSON"),
    ("unterminated", '{"a":', b"", "not valid JSON"),
    ("trailing_comma", '{"a":%s,}' % json.dumps(_e()), _F4, "not valid JSON"),
    ("single_quotes", "{'a':1}", b"", "not valid JSON"),
    ("raw_control_char", '{"a\x01":%s}' % json.dumps(_e()), _F4, "control character"),
    ("bad_escape", '{"a\\q":%s}' % json.dumps(_e()), _F4, "escape"),
    ("short_unicode_escape", '{"a\\u12":%s}' % json.dumps(_e()), _F4, "escape"),
    ("lone_high_surrogate", '{"a\\ud800":%s}' % json.dumps(_e()), _F4, "surrogate"),
    ("lone_low_surrogate", '{"\\udc00":%s}' % json.dumps(_e()), _F4, "surrogate"),
    ("bad_utf8_key", b'{"a\xff":' + json.dumps(_e()).encode() + b"}", _F4, "UTF-8"),
    ("overlong_utf8", b'{"\xc0\x80":' + json.dumps(_e()).encode() + b"}", _F4, "UTF-8"),
    ("utf8_surrogate", b'{"\xed\xa0\x80":' + json.dumps(_e()).encode() + b"}", _F4, "UTF-8"),
    ("truncated_utf8", b'{"\xe2\x82":' + json.dumps(_e()).encode() + b"}", _F4, "UTF-8"),
    ("negative_dim", {"a": _e(shape=[-1])}, _F4, "negative"),
    ("float_dim", {"a": _e(shape=[1.0])}, _F4, "integer"),
    ("exponent_dim", '{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', _F4, "integer"),
    ("string_dim", {"a": _e(shape=["1"])}, _F4, "integer"),
    ("nested_dim", {"a": _e(shape=[[1]])}, _F4, "integer"),
    ("dim_over_64_bits", '{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}', _F4,
     "64 bits"),
    ("dim_over_int64", {"a": _e(shape=[2**63])}, _F4, "2\\*\\*63"),
    ("dims_overflow_product", {"a": _e(shape=[2**32, 2**32])}, _F4, "too large"),
    ("zero_dim_with_huge_strides", {"a": _e(shape=[0, 2**62, 2**62], offsets=[0, 0]), "b": _e()}, _F4,
     "too large"),
    ("too_many_dims", {"a": _e(shape=[1] * 65)}, _F4, "more than 64 dimensions"),
    ("shape_not_list", {"a": _e(shape=3)}, _F4, "shape"),
    ("offsets_negative", {"a": _e(offsets=[-4, 0])}, _F4, "negative"),
    ("offsets_three", {"a": _e(offsets=[0, 4, 4])}, _F4, "more than two"),
    ("offsets_one", {"a": _e(offsets=[4])}, _F4, "1 data_offsets"),
    ("offsets_float", {"a": _e(offsets=[0, 4.0])}, _F4, "integer"),
    ("offsets_not_list", {"a": {"dtype": "F32", "shape": [1], "data_offsets": "0,4"}}, _F4, "data_offsets"),
    ("offset_overflow", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551615,3]}}', _F4,
     "end before they begin"),
    ("missing_dtype", {"a": {"shape": [1], "data_offsets": [0, 4]}}, _F4, "no dtype"),
    ("missing_shape", {"a": {"dtype": "F32", "data_offsets": [0, 4]}}, _F4, "no shape"),
    ("missing_offsets", {"a": {"dtype": "F32", "shape": [1]}}, _F4, "no data_offsets"),
    ("entry_not_object", {"a": [1, 2]}, _F4, "not an object"),
    ("dtype_not_string", {"a": _e(dtype=5)}, _F4, "not a string"),
    ("unknown_dtype", {"a": _e(dtype="Q7")}, _F4, "Q7"),
    ("unsupported_dtype", {"a": _e(dtype="F16", offsets=[0, 2])}, b"\0\0", "F16"),
    ("metadata_int_value", {"__metadata__": {"k": 1}}, b"", "not a string"),
    ("metadata_null_value", {"__metadata__": {"k": None}}, b"", "not a string"),
    ("metadata_object_value", {"__metadata__": {"k": {"x": "y"}}}, b"", "not a string"),
    ("metadata_not_object", {"__metadata__": ["k", "v"]}, b"", "not an object"),
    ("deep_nesting_in_unknown_field", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":%s%s}}'
     % ("[" * 5000, "]" * 5000), _F4, "nested more than"),
    ("deep_nesting_as_entry", '{"a":%s%s}' % ("[" * 5000, "]" * 5000), _F4, "not an object"),
    ("deep_nesting_as_metadata", '{"__metadata__":%s%s}' % ("{\"k\":" * 5000, "}" * 5000), b"", "not a string"),
]


@pytest.mark.parametrize("header, data, match", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_header_raises_serialization_error(tmp_path, header, data, match):
    _rejects(_file(tmp_path, header, data), match)


@pytest.mark.parametrize("length, match", [
    (2**62, "more than the 100 MB"),
    (2**64 - 1, "more than the 100 MB"),
    (100_000_001, "more than the 100 MB"),
    (1000, "past the end"),
    (0, r"start with '\{'"),
])
def test_header_length_is_bounded_by_the_limit_and_the_file(tmp_path, length, match):
    _rejects(_file(tmp_path, b"{}", length=length), match)


@pytest.mark.parametrize("size", [0, 1, 7])
def test_file_shorter_than_the_length_field(tmp_path, size):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x02" * size)
    _rejects(path, "shorter than the 8-byte header length")


def test_what_the_specification_allows_still_loads(tmp_path):
    header = (
        '{"__metadata__":null,'
        '"z0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
        '"\\u00e9\\ud83d\\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"future":{"x":[1,2.5e3,null,true]}},'
        '"z1":{"dtype":"F64","shape":[0,3],"data_offsets":[4,4]},'
        '"m":{"dtype":"BOOL","shape":[3],"data_offsets":[4,7]}}   '
    )
    path = _file(tmp_path, header, struct.pack("<f", 1.5) + b"\x00\x01\x07", name="ok.safetensors")
    out = bp.load(path)
    assert sorted(out) == sorted(["z0", "\u00e9\U0001F600", "z1", "m"])
    assert out["\u00e9\U0001F600"].tolist() == [1.5]
    assert out["z1"].shape == (0, 3) and out["z1"].dtype == bp.float64
    # A nonzero byte other than 1 in a BOOL tensor reads as True (and is stored as a valid bool).
    assert out["m"].tolist() == [False, True, True]
    assert (out["m"] == bp.tensor([False, True, True])).all().item()


def test_metadata_with_unicode_round_trips(tmp_path):
    path = tmp_path / "meta.safetensors"
    tree = {"caf\u00e9": [bp.ones(2), "\U0001F600\n\"quoted\"\\"]}
    bp.save(tree, path)
    back = bp.load(path)
    assert back["caf\u00e9"][1] == "\U0001F600\n\"quoted\"\\"


# ---- not a file ----------------------------------------------------------------------------------


def test_directory_fifo_device_and_missing_file_raise_clean_errors(tmp_path):
    _rejects(tmp_path, "is a directory")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _rejects(fifo, "not a regular file")  # must not block waiting for a writer
    if os.path.exists("/dev/zero"):
        with pytest.raises(bp.SerializationError, match="not a regular file"):
            bp.load("/dev/zero")
    _rejects(tmp_path / "missing.safetensors", "No such file")


def test_directory_message_is_the_same_every_time(tmp_path):
    messages = {str(_rejects(tmp_path, "directory")) for _ in range(3)}
    assert len(messages) == 1


def test_path_with_nul_byte_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="null byte"):
        bp.load(str(tmp_path / "a\0b"))
    with pytest.raises(ValueError, match="null byte"):
        bp.save({"a": bp.ones(1)}, str(tmp_path / "a\0b"))


def test_undecodable_path_is_named_in_the_message(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.safetensors"
    with pytest.raises(bp.SerializationError, match="No such file"):
        bp.load(raw)
    # A non-UTF-8 name on disk round-trips through a bytes path.
    bp.save({"w": bp.arange(3)}, raw)
    assert bp.load(raw)["w"].tolist() == [0, 1, 2]


# ---- the structure record ------------------------------------------------------------------------


def _tree_file(tmp_path, record, tensors=None):
    tensors = tensors if tensors is not None else {"t": bp.ones(2)}
    path = tmp_path / "tree.safetensors"
    metadata = {"backprop.format": "tree"}
    if record is not None:
        metadata["backprop.tree"] = record
    _core._save(tensors, os.fsencode(path), metadata)
    return path


BAD_TREES = [
    ("not_json", "{", "corrupted structure"),
    ("nan_garbage", "NaNx", "corrupted structure"),
    ("missing_tensor", '{"__tensor__": "nope"}', "does not hold"),
    ("tensor_name_not_string", '{"__tensor__": 5}', "does not hold"),
    ("tensor_name_list", '{"__tensor__": ["t"]}', "does not hold"),
    ("tuple_not_list", '{"__tuple__": 3}', "unexpected"),
    ("dict_not_list", '{"__dict__": {"a": 1}}', "unexpected"),
    ("dict_item_not_pair", '{"__dict__": [1]}', "pair"),
    ("dict_item_three", '{"__dict__": [["a", 1, 2]]}', "pair"),
    ("dict_float_key", '{"__dict__": [[1.5, 1]]}', "pair"),
    ("dict_list_key", '{"__dict__": [[[1], 1]]}', "pair"),
    ("dict_duplicate_key", '{"__dict__": [["a", 1], ["a", 2]]}', "twice"),
    ("plain_object", '{"a": 1}', "unexpected"),
    ("two_tags", '{"__tensor__": "t", "__tuple__": []}', "unexpected"),
    ("deep_lists", "[" * 5000 + "]" * 5000, "nested too deeply"),
    ("deep_dicts", '{"__dict__": [["a", ' * 3000 + "1" + "]]}" * 3000, "nested too deeply"),
    ("deep_bad_inside", "[" * 200 + '{"x": 1}' + "]" * 200, "unexpected"),
    ("huge_int", "1" * 5000, "corrupted structure"),
    ("no_record", None, "no 'backprop.tree' record"),
]


@pytest.mark.parametrize("record, match", [c[1:] for c in BAD_TREES], ids=[c[0] for c in BAD_TREES])
def test_bad_structure_record_raises_serialization_error(tmp_path, record, match):
    _rejects(_tree_file(tmp_path, record), match)


# ---- entry names of saved structures -------------------------------------------------------------


def test_colliding_fallback_names_keep_every_tensor(tmp_path):
    a, b, c = bp.tensor([1.0]), bp.tensor([2.0]), bp.tensor([3.0])
    path = tmp_path / "collide.safetensors"
    bp.save({"0#2": a, 0: b, "0": c}, path)
    back = bp.load(path)
    assert list(back.keys()) == ["0#2", 0, "0"]
    assert [type(k) for k in back] == [str, int, str]
    assert [v.item() for v in back.values()] == [1.0, 2.0, 3.0]


def test_reserved_and_unencodable_names_round_trip(tmp_path):
    path = tmp_path / "names.safetensors"
    obj = {"__metadata__": bp.ones(1), "\udc80": bp.zeros(2), "x": bp.arange(2)}
    bp.save(obj, path)
    back = bp.load(path)
    assert list(back) == list(obj)
    for k in obj:
        assert back[k].tolist() == obj[k].tolist()


# Keys whose paths and "#n" fallbacks collide with one another in many orders.
_KEYS = ["0", 0, "0#1", "0#2", "0#3", "0#4", "0#5", "a", "a/0", "a#2", "", "tensor", True]


def _random_tree(rng, depth=0):
    kind = rng.random()
    if depth >= 3 or kind < 0.6:
        return bp.tensor([float(rng.randrange(1000))]) if rng.random() < 0.8 else rng.choice([None, 1, 2.5, "s"])
    if kind < 0.75:
        return [_random_tree(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind < 0.82:
        return tuple(_random_tree(rng, depth + 1) for _ in range(rng.randrange(3)))
    keys = rng.sample(_KEYS, rng.randrange(1, 6))
    return {k: _random_tree(rng, depth + 1) for k in keys}


def _same(x, y):
    if isinstance(x, bp.Tensor):
        return isinstance(y, bp.Tensor) and x.tolist() == y.tolist()
    if isinstance(x, dict):
        return (isinstance(y, dict) and [(type(k), k) for k in x] == [(type(k), k) for k in y]
                and all(_same(x[k], y[k]) for k in x))
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y))
    return type(x) is type(y) and x == y


def test_random_structures_with_colliding_names_round_trip_exactly(tmp_path):
    rng = random.Random(8)
    path = tmp_path / "tree.safetensors"
    for _ in range(300):
        keys = rng.sample(_KEYS, rng.randrange(1, 10))
        obj = {k: bp.tensor([float(i)]) if rng.random() < 0.7 else _random_tree(rng) for i, k in enumerate(keys)}
        bp.save(obj, path)
        back = bp.load(path)
        if all(isinstance(k, str) and isinstance(v, bp.Tensor) for k, v in obj.items()):
            # A flat state dict is stored as plain entries and comes back in name order.
            obj = dict(sorted(obj.items()))
        assert _same(obj, back), obj
        # Every tensor in the structure has its own entry in the file.
        count = [0]

        def leaves(x):
            if isinstance(x, bp.Tensor):
                count[0] += 1
            elif isinstance(x, dict):
                for v in x.values():
                    leaves(v)
            elif isinstance(x, (list, tuple)):
                for v in x:
                    leaves(v)

        leaves(obj)
        tensors, _ = _core._load(os.fsencode(path))
        assert len(tensors) == count[0]


def test_saved_files_stay_readable_by_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "st.safetensors"
    obj = {"0#2": bp.tensor([1.0]), 0: bp.tensor([2.0]), "0": bp.tensor([3.0]),
           "m": bp.tensor([True, False]), "i": bp.arange(3), "d": bp.ones(2, 2, dtype=bp.float64),
           "e": bp.zeros(0, 3)}
    bp.save(obj, path)
    arrays = st.load_file(str(path))
    assert len(arrays) == len(obj)
    assert sorted(a.tolist() for k, a in arrays.items() if a.shape == (1,)) == [[1.0], [2.0], [3.0]]
    flat = {"a": bp.randn(3, 4), "b": bp.zeros(0), "c": bp.tensor([True])}
    bp.save(flat, path)
    arrays = st.load_file(str(path))
    for k, v in flat.items():
        np.testing.assert_array_equal(arrays[k], v.numpy())


def test_files_from_safetensors_with_metadata_load(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "theirs.safetensors"
    arrays = {f"t{i}": np.arange(i, dtype=np.float32) for i in range(5)}
    arrays["b"] = np.array([True, False])
    stn.save_file(arrays, str(path), metadata={"format": "np", "note": "caf\u00e9"})
    out = bp.load(path)
    for k, v in arrays.items():
        np.testing.assert_array_equal(out[k].numpy(), v)


# ---- the writer ----------------------------------------------------------------------------------

_FAILING_WRITER = """
import os, resource, signal, sys
import backprop as bp
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    bp.save({"w": bp.ones(100_000)}, sys.argv[1])
except bp.SerializationError as e:
    print("raised:", e)
"""


def test_failed_write_removes_its_temporary_file(tmp_path):
    path = tmp_path / "model.safetensors"
    bp.save({"w": bp.arange(4)}, path)
    run = subprocess.run([sys.executable, "-c", _FAILING_WRITER, str(path)], capture_output=True, text=True,
                         env=_child_env(), timeout=120)
    assert "raised:" in run.stdout and "model.safetensors" in run.stdout, run.stdout + run.stderr
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert bp.load(path)["w"].tolist() == [0, 1, 2, 3]  # the old file is untouched


_LOOPING_WRITER = """
import sys
import backprop as bp
big = bp.ones(30_000_000)
while True:
    bp.save({"w": big}, sys.argv[1])
"""


def test_next_save_removes_the_temporary_file_of_a_killed_writer(tmp_path):
    path = tmp_path / "model.safetensors"
    stray = []
    # A kill can land between one save's rename and the next one's temporary file: try again then.
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", _LOOPING_WRITER, str(path)], env=_child_env())
        try:
            # Wait (with no deadline on speed) until a write is under way, then kill the writer in it.
            while not [n for n in os.listdir(tmp_path) if n != "model.safetensors"]:
                assert proc.poll() is None, "the writer exited"
                threading.Event().wait(0.01)
        finally:
            proc.kill()
            proc.wait()
        stray = [n for n in os.listdir(tmp_path) if n != "model.safetensors"]
        if stray:
            break
    assert stray and all(n.startswith(".model.safetensors.") for n in stray)
    bp.save({"w": bp.arange(3)}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert bp.load(path)["w"].tolist() == [0, 1, 2]


def test_temporary_files_of_live_writers_and_other_targets_are_left_alone(tmp_path):
    path = tmp_path / "a.safetensors"
    mine = tmp_path / f".a.safetensors.backprop-tmp.{os.uname().nodename}.{os.getpid()}.999"
    other = tmp_path / ".b.safetensors.backprop-tmp.x.1.0"
    mine.write_bytes(b"in progress")
    other.write_bytes(b"someone else")
    bp.save({"w": bp.ones(1)}, path)
    assert mine.exists() and other.exists()


def test_save_errors_name_the_path(tmp_path):
    with pytest.raises(bp.SerializationError, match="names a directory"):
        bp.save({"w": bp.ones(1)}, str(tmp_path) + "/")
    missing = tmp_path / "no" / "such" / "dir.safetensors"
    with pytest.raises(bp.SerializationError, match="dir.safetensors"):
        bp.save({"w": bp.ones(1)}, missing)
    (tmp_path / "taken").mkdir()
    with pytest.raises(bp.SerializationError, match="taken"):
        bp.save({"w": bp.ones(1)}, tmp_path / "taken")
    assert sorted(os.listdir(tmp_path)) == ["taken"]


def test_concurrent_saves_to_one_path_leave_a_whole_file(tmp_path):
    path = tmp_path / "shared.safetensors"
    values = [bp.full((50_000,), float(i)) for i in range(4)]
    errors = []

    def writer(v):
        try:
            for _ in range(5):
                bp.save({"w": v}, path)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    w = bp.load(path)["w"].numpy()
    assert w.shape == (50_000,) and (w == w[0]).all() and w[0] in range(4)
    assert os.listdir(tmp_path) == ["shared.safetensors"]


# ---- the GIL -------------------------------------------------------------------------------------


def _other_thread_ran_inside(call, tries=10):
    """Whether another Python thread ran while `call` was inside the C++ function.

    The switch interval is made so long that the interpreter never takes the GIL away from the
    caller: the other thread can run only where the GIL is given up, so a call that holds it
    throughout leaves it no chance at all, whatever the machine's load."""
    state = {"inside": False, "done": False, "seen": 0}

    def watcher():
        while not state["done"]:
            if state["inside"]:
                state["seen"] += 1
            os.sched_yield()  # gives up the GIL, so the caller can take it back

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    t = threading.Thread(target=watcher)
    try:
        t.start()
        for _ in range(tries):
            state["inside"] = True
            call()
            state["inside"] = False
            if state["seen"]:
                break
    finally:
        state["done"] = True
        t.join()
        sys.setswitchinterval(old)
    return state["seen"] > 0


def test_save_and_load_release_the_gil(tmp_path):
    path = os.fsencode(tmp_path / "big.safetensors")
    big = {"w": bp.ones(5_000_000)}
    assert _other_thread_ran_inside(lambda: _core._save(big, path, {}))
    assert _other_thread_ran_inside(lambda: _core._load(path))


# ---- cost of a hostile header --------------------------------------------------------------------

_PEAK_MEMORY_OF_LOAD = """
import resource, sys
import backprop as bp
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    bp.load(sys.argv[1])
    print("loaded")
except bp.SerializationError as e:
    print("rejected:", str(e)[-120:])
print("grew_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_million_entry_header_is_rejected_in_memory_linear_in_its_size(tmp_path):
    # 64 MiB of header: a million valid zero-size entries and, last, one whose range is past
    # the end. Everything is checked before anything is allocated, so the peak stays a small
    # multiple of the header (it was 1.7 GB, 25 times the header, before).
    n = 1_000_000
    entry = '"t%07d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'
    parts = [entry % i for i in range(n - 1)]
    parts.append('"t%07d":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}' % (n - 1))
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * ((64 << 20) - len(header))
    path = _file(tmp_path, header, name="million.safetensors")
    del parts, header
    run = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_OF_LOAD, str(path)], capture_output=True, text=True,
                         env=_child_env(), timeout=600)
    assert "rejected:" in run.stdout and "past the end" in run.stdout, run.stdout + run.stderr
    grew_mib = int(run.stdout.split("grew_kib")[1]) / 1024
    assert grew_mib < 5 * 64, f"loading a 64 MiB header took {grew_mib:.0f} MiB more memory"
