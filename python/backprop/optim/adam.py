from .. import _core
from .optimizer import Optimizer, _finite, _flag


class Adam(Optimizer):
    """Adam (with amsgrad), as torch.optim.Adam; weight decay is added to the gradient."""

    _core_class = _core._Adam

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        _finite("epsilon", group["eps"])
        _finite("weight_decay", group["weight_decay"])
        for i, beta in enumerate(group["betas"]):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")

    def _options(self, group):
        beta1, beta2 = group["betas"]
        return {
            "lr": float(group["lr"]),
            "beta1": float(beta1),
            "beta2": float(beta2),
            "eps": float(group["eps"]),
            "weight_decay": float(group["weight_decay"]),
            "amsgrad": _flag(group["amsgrad"]),
            "maximize": _flag(group["maximize"]),
        }


class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW."""

    _core_class = _core._AdamW

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
