"""python -m backprop.lessons: every lesson's quick mode runs, writes its files and shows its claim."""

import json
import math
import shutil
import subprocess
import sys

import pytest

import backprop as bp
from backprop import lessons
from backprop.lessons import graph

PNG = b"\x89PNG\r\n\x1a\n"


def run_quick(name, tmp_path):
    lines = []
    figures = lessons.run(name, quick=True, out=str(tmp_path), log=lines.append)
    written = json.loads((tmp_path / f"{name}.json").read_text())
    assert written["lesson"] == name and written["quick"] is True
    assert written["machine"]["cpu_capability"] == bp.cpu_capability()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert any("matplotlib is not installed" in line for line in lines)
    else:
        if name != "graph":
            assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG
    return figures, "\n".join(str(line) for line in lines)


def claims(figures):
    return {c["claim"]: c["holds"] for c in figures["claims"]}


def test_chain_rule_backward_is_exact_and_matches_the_hand_formulas(tmp_path):
    figures, text = run_quick("chain-rule", tmp_path)
    d = figures["derivative"]
    assert d["float32"]["backward"] == 5.0 and d["float64"]["backward"] == 5.0
    assert d["best_float32_difference_error"] > 0
    assert set(figures["network"]["max_abs_diff"]) == {"dL/dz2", "dL/dW2", "dL/db2", "dL/da1", "dL/dz1", "dL/dW1",
                                                        "dL/db1"}
    assert max(figures["network"]["max_abs_diff"].values()) < 1e-12
    assert all(claims(figures).values())
    assert "dL/dz1" in text and "ReLU'" in text


def test_cost_backward_is_a_constant_times_forward_and_finite_differences_grow(tmp_path):
    figures, _ = run_quick("cost", tmp_path)
    rows = figures["rows"]
    assert [r["params"] for r in rows] == sorted(r["params"] for r in rows)
    # Generous bounds: these are timings on a machine that may be busy.
    assert max(r["backward_over_forward"] for r in rows) < 10
    measured = [r for r in rows if r["fd_measured"]]
    assert len(measured) >= 2 and any(not r["fd_measured"] for r in rows)
    assert measured[-1]["fd_over_backprop"] > 2 * measured[0]["fd_over_backprop"]
    assert all(r["fd_max_rel_error"] < 1e-5 for r in measured)


def test_vanishing_sigmoid_first_layer_gradient_vanishes(tmp_path):
    figures, text = run_quick("vanishing", tmp_path)
    ratios = figures["ratios"]
    assert ratios["sigmoid"]["default init, 50 layers"] < 1e-3
    assert ratios["tanh"]["right init, 50 layers"] > 1e3 * ratios["tanh"]["default init, 50 layers"]
    norms = figures["norms_50_layers"]["sigmoid"]["default"]
    assert len(norms) == 50 and norms[0] < 1e-3 * norms[-1]
    assert "relu+batchnorm" in text


def test_exploding_without_clipping_and_finite_with_it(tmp_path):
    figures, text = run_quick("exploding", tmp_path)
    assert figures["first_nonfinite_step"] == 1
    assert math.isfinite(figures["loss_plain"][0])
    assert all(math.isfinite(v) for v in figures["loss_clipped"])
    assert figures["loss_clipped"][-1] < figures["loss_clipped"][0]
    # GradFlow names the layer whose output overflowed first, and its op.
    bad = figures["first_nonfinite_output"]
    assert bad["step"] == 1 and bad["type"] == "Linear" and bad["grad_fn"] == "AddmmBackward0"
    # Anomaly mode stops backward at the first node whose gradient is not finite, and names it.
    assert figures["anomaly"].startswith("Function '") and "Backward" in figures["anomaly"]
    assert "returned nan values" in figures["anomaly"] or "returned inf values" in figures["anomaly"]


def test_memory_checkpointing_lowers_the_bytes_held(tmp_path):
    figures, _ = run_quick("memory", tmp_path)
    for r in figures["rows"]:
        assert r["checkpointed"]["held_bytes"] < r["plain"]["held_bytes"]
        # One float32 output per layer, plus the last layer's output which the caller holds.
        assert 3.9 < r["plain_bytes_per_element"] < 4.6
    big = figures["rows"][-1]
    assert big["checkpointed"]["peak_bytes"] < big["plain"]["peak_bytes"]


def test_physics_gradient_matches_finite_differences_and_ascent_finds_the_grid_optimum(tmp_path):
    figures, _ = run_quick("physics", tmp_path)
    assert figures["steps"] == 1000
    assert figures["relative_error"] < 1e-6
    assert abs(figures["ascent_angle_deg"] - figures["grid_angle_deg"]) <= figures["grid_spacing_deg"]
    # Drag lowers the best angle below 45 degrees.
    assert 35 < figures["ascent_angle_deg"] < 45


def test_graph_lesson_writes_dot_and_names_every_parameter(tmp_path):
    figures, text = run_quick("graph", tmp_path)
    dot = (tmp_path / "graph.dot").read_text()
    assert dot.startswith("digraph backward {")
    for name in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "AddmmBackward0", "ReluBackward0"):
        assert name in dot and name in text
    assert "dx = dy * [x > 0]" in dot
    if shutil.which("dot"):
        assert (tmp_path / "graph.png").read_bytes()[:8] == PNG
    else:
        assert "apt-get install graphviz" in text


def test_to_dot_shares_one_node_per_leaf():
    w = bp.randn(3, requires_grad=True)
    y = (w * w + bp.sin(w)).sum()
    nodes = graph.describe(y, {"w": w})
    leaves = [n for n in nodes if n["name"] == "AccumulateGrad"]
    assert len(leaves) == 1 and leaves[0]["param"] == "w\n(3,)"
    into_leaf = [n for n in nodes for m in n["next"] if m == leaves[0]["id"]]
    assert sorted(n["name"] for n in into_leaf) == ["MulBackward0", "MulBackward0", "SinBackward0"]
    dot = graph.to_dot(y)
    assert dot.count("AccumulateGrad") == 0 and dot.count('label="leaf') == 1


def test_to_dot_and_render_explain_misuse(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no grad_fn"):
        graph.to_dot(bp.randn(2, requires_grad=True))
    y = (bp.randn(2, requires_grad=True) * 2).sum()
    assert graph.render(y, tmp_path / "g.dot") == str(tmp_path / "g.dot")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        graph.render(y, tmp_path / "g.png")


def test_lesson_without_matplotlib_still_prints_and_writes_json(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    lines = []
    figures = lessons.run("chain-rule", quick=True, out=str(tmp_path), log=lines.append)
    assert all(claims(figures).values())
    assert (tmp_path / "chain-rule.json").exists() and not (tmp_path / "chain-rule.png").exists()
    assert any("matplotlib is not installed" in line and "backprop[demo]" in line for line in lines)


def test_cli_lists_the_lessons_and_runs_all_in_order(monkeypatch, tmp_path):
    out = subprocess.run([sys.executable, "-m", "backprop.lessons", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for name in lessons.LESSONS:
        assert name in out
    assert "--quick" in out and "--out" in out
    bad = subprocess.run([sys.executable, "-m", "backprop.lessons", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    with pytest.raises(ValueError, match="no lesson named 'nope'"):
        lessons.run("nope")

    from backprop.lessons import __main__ as cli

    seen = []
    monkeypatch.setattr(cli, "run", lambda name, quick, out: seen.append((name, quick, out)) or {})
    cli.main(["all", "--quick", "--out", str(tmp_path)])
    assert seen == [(name, True, str(tmp_path)) for name in lessons.LESSONS]
