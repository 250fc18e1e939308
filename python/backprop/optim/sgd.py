from .. import _core
from .optimizer import Optimizer, _finite, _flag


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as torch.optim.SGD."""

    _core_class = _core._SGD
    _keeps_step = False

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        _finite("momentum", group["momentum"])
        _finite("weight_decay", group["weight_decay"])

    def _options(self, group):
        return {
            "lr": float(group["lr"]),
            "momentum": float(group["momentum"]),
            "dampening": float(group["dampening"]),
            "weight_decay": float(group["weight_decay"]),
            "nesterov": _flag(group["nesterov"]),
            "maximize": _flag(group["maximize"]),
        }

    def _param_state(self, p):
        state = super()._param_state(p)
        if state is None:
            return None
        state.setdefault("momentum_buffer", None)
        return state
