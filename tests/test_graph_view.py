"""The graph for people: grad_fn introspection and backprop.autograd.graph's DOT export."""

import shutil

import pytest

import backprop as bp
from backprop import nn
from backprop.autograd import graph


def seed_net():
    bp.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_grad_fn_name_next_functions_metadata_and_variable():
    w = bp.randn(3, requires_grad=True)
    y = bp.sin(w) * 2
    assert y.grad_fn.name() == "MulBackward0"
    ((sin_node, slot),) = y.grad_fn.next_functions
    assert sin_node.name() == "SinBackward0" and slot == 0
    acc = sin_node.next_functions[0][0]
    assert acc.name() == "AccumulateGrad" and hash(acc.variable) == hash(w)
    with pytest.raises(AttributeError, match="only AccumulateGrad"):
        sin_node.variable
    y.grad_fn.metadata["note"] = "kept"
    assert y.grad_fn.metadata == {"note": "kept"}  # one dict per node, across wrapper objects
    assert [tuple(t.shape) for t in sin_node._saved_tensors] == [(3,)]


def test_saved_tensors_are_gone_after_backward():
    w = bp.randn(3, requires_grad=True)
    y = bp.sin(w).sum()
    node = y.grad_fn.next_functions[0][0]
    assert len(node._saved_tensors) == 1
    y.backward()
    assert node._saved_tensors == []


def test_dot_of_the_seed_network_names_parameters_shapes_and_saved_sizes():
    net = seed_net()
    loss = nn.functional.mse_loss(net(bp.randn(8, 3)), bp.randn(8, 2))
    dot = graph.to_dot(loss, params=dict(net.named_parameters()))
    assert dot.startswith("digraph backward {") and dot.rstrip().endswith("}")
    for name, p in net.named_parameters():
        assert f"{name}\\n{tuple(p.shape)}" in dot
    assert "saved: (8, 3)" in dot  # the first layer keeps its input for the weight's gradient
    nodes = graph.describe(loss, net.named_parameters())
    edges = sum(len(n["next"]) for n in nodes)
    assert dot.count(" -> ") == edges + 1  # every edge backward walks, and the output's arrow
    assert sorted(n["param"] for n in nodes if n["param"]) == sorted(dict(net.named_parameters()))


def test_unnamed_leaves_and_several_outputs():
    a = bp.randn(2, 3, requires_grad=True)
    parts = a.split(1, dim=0)
    dot = graph.to_dot(list(parts))
    assert dot.count("output (1, 3)") == 2 and 'label="leaf\\n(2, 3)"' in dot
    assert dot.count('label="SplitBackward0"') == 1  # one node for both outputs
    assert "out0 -> n0;" in dot and "out1 -> n0;" in dot


def test_render_writes_svg_or_explains_how_to_get_graphviz(tmp_path, monkeypatch):
    net = seed_net()
    loss = net(bp.randn(4, 3)).sum()
    assert graph.render(loss, tmp_path / "g.dot").endswith("g.dot")
    if shutil.which("dot"):
        out = graph.render(loss, tmp_path / "g.svg", params=net.named_parameters())
        text = open(out).read()
        assert "<svg" in text and "0.weight" in text
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        graph.render(loss, tmp_path / "g.png")


def test_to_dot_of_a_leaf_explains():
    with pytest.raises(ValueError, match="no grad_fn"):
        graph.to_dot(bp.randn(2, requires_grad=True))
