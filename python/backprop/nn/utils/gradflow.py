"""GradFlow: watch gradients flow through a model, layer by layer and step by step.

    flow = GradFlow(model)
    for xb, yb in loader:
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    flow.table()                   # per-layer norms, activation statistics, dead ReLUs
    print(flow.diagnose())         # one line: healthy, vanishing or exploding, and what to do
    flow.plot("gradflow.png")      # norms over depth and over steps, on a log scale
    flow.remove()                  # or use `with GradFlow(model) as flow:`

A step is one forward of the model with grad mode on; everything the following backward
produces is filed under it. The monitor sees layers through their calls and gradients through
tensor hooks; its public API does not depend on how it attaches, so it can move onto module
hooks without change.
"""

import math
import sys
import weakref

import numpy as np

from ... import _core
from ..._core import Tensor

VANISHING = 1e-3
EXPLODING = 1e3

_REMEDIES = {
    "vanishing": "use ReLU-family activations instead of sigmoid/tanh, Xavier or Kaiming initialisation, "
                 "residual connections, or BatchNorm/LayerNorm",
    "exploding": "clip gradients (nn.utils.clip_grad_norm_), lower the learning rate, initialise smaller "
                 "(Xavier or Kaiming), or add normalisation layers",
}


def _norm(t):
    """2-norm accumulated in float64, so float32 values near the overflow limit still give a finite norm."""
    a = t.detach().numpy()
    return math.sqrt(float(np.sum(np.square(a, dtype=np.float64))))


class LayerRecord:
    """What one layer showed in one step. Norms are None until the matching backward ran."""

    __slots__ = ("name", "kind", "grad_fn", "weight_grad_norm", "output_grad_norm", "act_mean", "act_std",
                 "dead_fraction", "output_finite")

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind
        self.grad_fn = None
        self.weight_grad_norm = None
        self.output_grad_norm = None
        self.act_mean = None
        self.act_std = None
        self.dead_fraction = None
        self.output_finite = True

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return f"LayerRecord({self.as_dict()!r})"


def _is_relu(module):
    from ..activation import ReLU

    return isinstance(module, ReLU)


def _sequentials(model):
    from ..container import Sequential

    return [m for _, m in model.named_modules() if isinstance(m, Sequential)]


def _select_layers(model, layers):
    named = list(model.named_modules())
    if layers is None:
        chosen = [(n, m) for n, m in named if not any(True for _ in m.children())]
    elif isinstance(layers, type) or (isinstance(layers, tuple) and all(isinstance(t, type) for t in layers)):
        chosen = [(n, m) for n, m in named if isinstance(m, layers)]
    else:
        by_name = dict(named)
        chosen = []
        for n in layers:
            if n not in by_name:
                raise ValueError(f"GradFlow: the model has no submodule named {n!r}; "
                                 f"its submodules are {[k for k, _ in named if k]}")
            chosen.append((n, by_name[n]))
    if not chosen:
        raise ValueError("GradFlow: no layer to monitor; pass layers= as submodule names or module types")
    return [(n or type(m).__name__, m) for n, m in chosen]


class GradFlow:
    """Records, per named layer and per step, gradient norms of weights and outputs, activation
    mean and std, and the fraction of dead ReLU units; diagnoses vanishing and exploding flow.

    layers: None (every leaf module), a module type or tuple of types, or a list of submodule names.
    """

    def __init__(self, model, layers=None):
        from ..module import Module

        if not isinstance(model, Module):
            raise TypeError(f"GradFlow: expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self._layers = _select_layers(model, layers)
        self.steps = []  # one {layer name: LayerRecord} per step
        # {"step", "layer", "type", "grad_fn"} of the first non-finite gradient (in backward order)
        # and of the first non-finite output (in forward order).
        self.first_nonfinite_gradient = None
        self.first_nonfinite_output = None
        self._installed = []  # (module, previous instance `forward` or None), undone in reverse
        self._active = True
        self._handles = []  # parameter hooks, removed with the monitor
        self._attach()

    # ---- attaching -----------------------------------------------------------------------------
    def _set_forward(self, module, fn):
        self._installed.append((module, module.__dict__.get("forward")))
        object.__setattr__(module, "forward", fn)

    def _attach(self):
        # A Sequential fuses Linear + activation into one op, which would hide the activation
        # layer from the monitor: while monitored, each runs its children one by one (same values).
        for seq in _sequentials(self.model):
            self._set_forward(seq, _unfused_forward(seq))
        for name, module in self._layers:
            self._set_forward(module, self._layer_forward(name, module, module.forward))
        root_forward = self.model.forward
        flow = self

        def forward(*args, **kwargs):
            if _core.is_grad_enabled():
                flow._begin_step()
            return root_forward(*args, **kwargs)

        self._set_forward(self.model, forward)
        ref = weakref.ref(self)
        owner = {}
        for name, module in self._layers:
            for p in module.parameters():
                if p.requires_grad and id(p) not in owner:
                    owner[id(p)] = name
                    # The hook holds the monitor weakly: a monitor dropped without remove() costs nothing.
                    self._handles.append(p.register_hook(_param_hook(ref, name)))

    def _begin_step(self):
        self.steps.append({name: LayerRecord(name, type(m).__name__) for name, m in self._layers})

    def _layer_forward(self, name, module, inner):
        ref = weakref.ref(self)
        relu = _is_relu(module)

        def forward(*args, **kwargs):
            out = inner(*args, **kwargs)
            flow = ref()
            if flow is None or not flow._active or not flow.steps or not _core.is_grad_enabled():
                return out
            t = _first_tensor(out)
            if t is not None and t.is_floating_point():
                flow._record_output(len(flow.steps) - 1, name, t, relu)
            return out

        return forward

    def _record_output(self, step, name, t, relu):
        rec = self.steps[step][name]
        rec.grad_fn = t.grad_fn.name() if t.grad_fn is not None else None
        a = t.detach().numpy()
        rec.output_finite = bool(np.isfinite(a).all())
        if a.size:
            with np.errstate(all="ignore"):  # inf and NaN activations are what the monitor is for
                rec.act_mean = float(np.mean(a, dtype=np.float64))
                rec.act_std = float(np.std(a, dtype=np.float64))
        if relu and a.size:
            # A unit is dead when it is zero for every sample of the batch.
            units = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
            rec.dead_fraction = float(np.mean(~(units > 0).any(axis=0)))
        if not rec.output_finite and self.first_nonfinite_output is None:
            self.first_nonfinite_output = {"step": step, "layer": name, "type": rec.kind, "grad_fn": rec.grad_fn}
        if t.requires_grad:
            t.register_hook(_output_hook(weakref.ref(self), step, name))

    def remove(self):
        """Detaches the monitor: the model's forward methods are restored; records stay readable."""
        self._active = False
        while self._handles:
            self._handles.pop().remove()
        while self._installed:
            module, previous = self._installed.pop()
            if previous is None:
                module.__dict__.pop("forward", None)
            else:
                object.__setattr__(module, "forward", previous)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    # ---- reading -------------------------------------------------------------------------------
    @property
    def layers(self):
        """The monitored layers' names, in depth order."""
        return [n for n, _ in self._layers]

    def records(self, step=-1):
        """The LayerRecords of one step (default the last), in depth order."""
        if not self.steps:
            raise RuntimeError("GradFlow: nothing recorded yet; run a forward and backward pass of the model first")
        return list(self.steps[step].values())

    def norms(self, kind="weight", step=-1):
        """Per-layer gradient norms of one step: kind "weight" (layers with parameters) or "output"."""
        if kind not in ("weight", "output"):
            raise ValueError(f"GradFlow.norms: kind must be 'weight' or 'output', got {kind!r}")
        attr = "weight_grad_norm" if kind == "weight" else "output_grad_norm"
        return [(r.name, getattr(r, attr)) for r in self.records(step) if getattr(r, attr) is not None]

    def ratio(self, step=-1):
        """First layer's gradient norm over the last layer's (weights, else outputs); < 1e-3 is
        vanishing, > 1e3 exploding. NaN when nothing was recorded or both ends are zero."""
        norms = self.norms("weight", step) or self.norms("output", step)
        if len(norms) < 2:
            return float("nan")
        first, last = norms[0][1], norms[-1][1]
        if last == 0:
            return float("nan") if first == 0 else float("inf")
        return first / last

    def status(self, step=-1):
        """"healthy", "vanishing", "exploding" or "no data" for one step."""
        if not self.steps:
            return "no data"
        recs = self.records(step)
        values = [v for r in recs for v in (r.weight_grad_norm, r.output_grad_norm) if v is not None]
        if not values:
            return "no data"
        if not all(math.isfinite(v) for v in values) or not all(r.output_finite for r in recs):
            return "exploding"
        r = self.ratio(step)
        if math.isnan(r):
            return "vanishing"  # no gradient reaches either end
        if r < VANISHING:
            return "vanishing"
        if r > EXPLODING:
            return "exploding"
        return "healthy"

    def diagnose(self, step=-1):
        """One line: what the flow looks like in a step, and the usual remedies when it is unhealthy."""
        status = self.status(step)
        if status == "no data":
            return "no gradients recorded: run backward() on a loss computed by the monitored model"
        r = self.ratio(step)
        ratio = f"first/last gradient-norm ratio {r:.3g}"
        if status == "healthy":
            return f"healthy: {ratio}, within [{VANISHING:g}, {EXPLODING:g}]"
        if status == "vanishing":
            return f"vanishing: {ratio} < {VANISHING:g}; remedies: {_REMEDIES['vanishing']}"
        where = ""
        # An overflow in the forward pass is where the trouble began; the NaN gradients follow it.
        out, grad = self.first_nonfinite_output, self.first_nonfinite_gradient
        bad = out if out is not None and (grad is None or out["step"] <= grad["step"]) else grad
        if bad is not None:
            what = "output" if bad is out else "gradient"
            where = (f"first non-finite {what} at layer {bad['layer']} ({bad['type']}, {bad['grad_fn']}, "
                     f"step {bad['step']}); ")
        elif math.isfinite(r):
            where = f"{ratio} > {EXPLODING:g}; "
        return f"exploding: {where}remedies: {_REMEDIES['exploding']}"

    def format_table(self, step=-1):
        """The table that table() prints, as a string."""
        recs = self.records(step)
        header = ("layer", "type", "|dL/dW|", "|dL/dout|", "act mean", "act std", "dead ReLU")
        rows = [header]
        for r in recs:
            rows.append((r.name, r.kind, _fmt(r.weight_grad_norm), _fmt(r.output_grad_norm), _fmt(r.act_mean),
                         _fmt(r.act_std), "" if r.dead_fraction is None else f"{100 * r.dead_fraction:.1f}%"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in rows]
        index = step if step >= 0 else len(self.steps) + step
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"step {index}: {self.diagnose(step)}")
        return "\n".join(lines)

    def table(self, step=-1, file=None):
        """Prints the per-layer table of one step (default the last) and its diagnosis."""
        print(self.format_table(step), file=file or sys.stdout)

    def plot(self, path, step=-1, title=None):
        """Draws per-layer gradient norms over depth (one step) and over steps, on log scales."""
        try:
            import matplotlib
            import matplotlib.ticker

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("GradFlow.plot needs matplotlib: pip install 'backprop[demo]'") from e
        recs = self.records(step)
        index = step if step >= 0 else len(self.steps) + step
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        for kind, marker in (("weight", "o"), ("output", "s")):
            pairs = [(i, getattr(r, kind + "_grad_norm")) for i, r in enumerate(recs)
                     if getattr(r, kind + "_grad_norm") is not None]
            if pairs:
                ax1.plot([i for i, _ in pairs], [_floor(v) for _, v in pairs], marker=marker, ms=3,
                         label=f"|dL/d{'W' if kind == 'weight' else 'out'}|")
        ax1.set_yscale("log")
        ax1.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax1.set_xlabel("layer (input -> output)")
        ax1.set_ylabel("gradient norm")
        ax1.set_title(f"over depth, step {index}")
        ax1.grid(alpha=0.3, which="both")
        ax1.legend()
        cmap = plt.get_cmap("viridis")
        weighted = [r.name for r in recs if r.weight_grad_norm is not None]
        for k, name in enumerate(weighted):
            ys = [_floor(s[name].weight_grad_norm) if s[name].weight_grad_norm is not None else np.nan
                  for s in self.steps]
            ax2.plot(range(len(ys)), ys, color=cmap(k / max(len(weighted) - 1, 1)), lw=1,
                     label=name if len(weighted) <= 8 else None)
        ax2.set_yscale("log")
        ax2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax2.set_xlabel("step")
        ax2.set_ylabel("|dL/dW| per layer")
        ax2.set_title("over steps (dark: input side)")
        ax2.grid(alpha=0.3, which="both")
        if 0 < len(weighted) <= 8:
            ax2.legend(fontsize=7)
        fig.suptitle(title or self.diagnose(step)[:110], fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return path

    def __repr__(self):
        return f"GradFlow({len(self._layers)} layers, {len(self.steps)} steps, {self.status()})"


def _floor(v):
    # Log axes cannot show 0; an underflowed gradient is drawn at the smallest float32 subnormal.
    return v if v > 0 or not math.isfinite(v) else 1.4e-45


def _fmt(v):
    return "" if v is None else f"{v:.3e}"


def _first_tensor(out):
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return next((o for o in out if isinstance(o, Tensor)), None)
    return None


def _unfused_forward(seq):
    def forward(input):
        for m in seq:
            input = m(input)
        return input

    return forward


def _param_hook(ref, name):
    def hook(grad):
        flow = ref()
        if flow is None or not flow._active or not flow.steps:
            return None
        step = len(flow.steps) - 1
        rec = flow.steps[step][name]
        n = _norm(grad)
        # Several parameters per layer: the layer's norm is the norm of all its gradients together.
        rec.weight_grad_norm = n if rec.weight_grad_norm is None else math.hypot(rec.weight_grad_norm, n)
        if not math.isfinite(n) and flow.first_nonfinite_gradient is None:
            flow.first_nonfinite_gradient = {"step": step, "layer": name, "type": rec.kind, "grad_fn": "AccumulateGrad"}
        return None

    return hook


def _output_hook(ref, step, name):
    def hook(grad):
        flow = ref()
        if flow is None or not flow._active:
            return None
        rec = flow.steps[step][name]
        rec.output_grad_norm = _norm(grad)
        if not math.isfinite(rec.output_grad_norm) and flow.first_nonfinite_gradient is None:
            flow.first_nonfinite_gradient = {"step": step, "layer": name, "type": rec.kind, "grad_fn": rec.grad_fn}
        return None

    return hook


__all__ = ["GradFlow", "LayerRecord"]
