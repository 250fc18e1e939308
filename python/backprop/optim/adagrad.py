from .. import _core
from .optimizer import Optimizer, _finite, _flag


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad: steps scaled by the root of the summed squared
    gradients, the rate decaying as lr / (1 + (step - 1) * lr_decay)."""

    _core_class = _core._Adagrad

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _finite("epsilon" if name == "eps" else name, group[name])

    def _options(self, group):
        return {
            "lr": float(group["lr"]),
            "lr_decay": float(group["lr_decay"]),
            "weight_decay": float(group["weight_decay"]),
            "initial_accumulator_value": float(group["initial_accumulator_value"]),
            "eps": float(group["eps"]),
            "maximize": _flag(group["maximize"]),
        }
