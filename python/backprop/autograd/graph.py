"""The graph below a tensor, for people: Graphviz DOT text and pictures.

`to_dot(loss, params=dict(model.named_parameters()))` gives one box per node with its op name
and the sizes of the tensors it saved for backward, one ellipse per leaf labelled with its
parameter name and shape, and the edges backward walks. `render(loss, "graph.svg")` draws it with
Graphviz's `dot` program. Both read only what every tensor exposes: grad_fn, name(),
next_functions, variable (AccumulateGrad) and the saved tensors.
"""

import os
import shutil
import subprocess

from .._core import Tensor


def walk(tensor):
    """The nodes below `tensor` (or a sequence of tensors) breadth-first, and the edges between them
    as (from, to, input_nr) triples of indices. The node objects stay alive in the list, which keeps
    their identities stable."""
    tensors = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    nodes, index, edges = [], {}, []
    for t in tensors:
        root = t.grad_fn
        if root is None:
            raise ValueError(
                f"to_dot: a tensor of shape {tuple(t.shape)} has no grad_fn (it is a leaf or was computed "
                "without grad); draw a tensor computed from inputs that require grad"
            )
        if id(root) not in index:
            index[id(root)] = len(nodes)
            nodes.append(root)
    i = 0
    while i < len(nodes):
        for nxt, input_nr in nodes[i].next_functions:
            if nxt is None:
                continue
            if id(nxt) not in index:
                index[id(nxt)] = len(nodes)
                nodes.append(nxt)
            edges.append((i, index[id(nxt)], input_nr))
        i += 1
    return nodes, edges


def _shape_of(shape):
    return str(tuple(shape))


def _leaf_names(params):
    if params is None:
        return {}
    items = params.items() if hasattr(params, "items") else params
    # A tensor hashes by its shared implementation: a Parameter and the alias a node returns agree.
    return {hash(p): name for name, p in items if isinstance(p, Tensor)}


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def describe(tensor, params=None):
    """The graph below `tensor` as a list of dicts: id, name (the op), param (the parameter name of
    a leaf, or None), shape (a leaf's), saved (shapes of the tensors a node saved for backward) and
    next (the ids of the nodes its gradients go to)."""
    nodes, edges = walk(tensor)
    names = _leaf_names(params)
    out = []
    for i, n in enumerate(nodes):
        entry = {"id": i, "name": n.name(), "param": None, "shape": None, "saved": [],
                 "next": [b for a, b, _ in edges if a == i]}
        if n.name() == "AccumulateGrad":
            v = n.variable
            entry["param"] = names.get(hash(v))
            entry["shape"] = tuple(v.shape)
        else:
            entry["saved"] = [tuple(t.shape) for t in n._saved_tensors]
        out.append(entry)
    return out


def to_dot(tensor, params=None, notes=None, title=None):
    """Graphviz DOT text of the graph below `tensor` (or a sequence of tensors).

    params: a dict or named_parameters() that names the leaves. notes: a dict from node name
    ("MulBackward0") to text shown under it, or a function of the node's description giving that
    text (or None). title: a caption for the whole picture.
    """
    tensors = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    described = describe(tensors, params)
    nodes, _ = walk(tensors)
    # The root of each output tensor: several outputs may share one node.
    roots = [nodes.index(t.grad_fn) for t in tensors]

    def note(entry):
        if notes is None:
            return None
        return notes(entry) if callable(notes) else notes.get(entry["name"])

    lines = ["digraph backward {", '  graph [rankdir=TB, fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#555555", arrowsize=0.7];']
    if title:
        lines.insert(2, f"  label={_quote(title)}; labelloc=t;")
    for k, (t, r) in enumerate(zip(tensors, roots)):
        lines.append(f"  out{k} [shape=plaintext, label={_quote('output ' + _shape_of(t.shape))}];")
        lines.append(f"  out{k} -> n{r};")
    for e in described:
        extra = note(e)
        if e["name"] == "AccumulateGrad":
            label = (e["param"] or "leaf") + "\n" + _shape_of(e["shape"])
            if extra:
                label += "\n" + extra
            lines.append(f'  n{e["id"]} [shape=ellipse, style=filled, fillcolor="#dbe9f6", label={_quote(label)}];')
        else:
            label = e["name"]
            if e["saved"]:
                label += "\nsaved: " + ", ".join(_shape_of(s) for s in e["saved"])
            if extra:
                label += "\n" + extra
            lines.append(f'  n{e["id"]} [shape=box, style="rounded,filled", fillcolor="#fdf1dc", '
                         f"label={_quote(label)}];")
        for m in e["next"]:
            lines.append(f"  n{e['id']} -> n{m};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                 "conda: conda install graphviz) or write to_dot()'s text to a .dot file")


def render(tensor, path, params=None, notes=None, title=None):
    """Writes the graph below `tensor` to `path`: DOT text for a .dot or .gv path, otherwise drawn by
    Graphviz's `dot` in the format the suffix names (.svg, .png, .pdf). Returns the path."""
    path = os.fspath(path)
    source = to_dot(tensor, params, notes=notes, title=title)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    if fmt in ("dot", "gv"):
        with open(path, "w") as f:
            f.write(source)
        return path
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(f"render: Graphviz's `dot` program is not on PATH, so {path} cannot be drawn; "
                           + _INSTALL_HINT)
    done = subprocess.run([dot, f"-T{fmt}", "-o", path], input=source, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"render: dot -T{fmt} failed for {path}: {done.stderr.strip()}")
    return path
