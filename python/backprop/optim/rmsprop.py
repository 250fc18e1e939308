from .. import _core
from .optimizer import Optimizer, _finite, _flag


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum), as torch.optim.RMSprop."""

    _core_class = _core._RMSprop

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        for name in ("alpha", "eps", "weight_decay", "momentum"):
            _finite(name, group[name])

    def _options(self, group):
        return {
            "lr": float(group["lr"]),
            "alpha": float(group["alpha"]),
            "eps": float(group["eps"]),
            "weight_decay": float(group["weight_decay"]),
            "momentum": float(group["momentum"]),
            "centered": _flag(group["centered"]),
            "maximize": _flag(group["maximize"]),
        }
