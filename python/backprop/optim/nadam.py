from .. import _core
from ._checks import beta_options, check_adam_like
from .optimizer import Optimizer, _flag


class NAdam(Optimizer):
    """NAdam, as torch.optim.NAdam: Adam with Nesterov momentum warmed up by momentum_decay;
    decoupled_weight_decay=True decays the weights as AdamW does."""

    _core_class = _core._NAdam
    _scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        check_adam_like(group, "momentum_decay")

    def _options(self, group):
        return {
            "lr": float(group["lr"]),
            **beta_options(group),
            "eps": float(group["eps"]),
            "weight_decay": float(group["weight_decay"]),
            "momentum_decay": float(group["momentum_decay"]),
            "decoupled_weight_decay": _flag(group["decoupled_weight_decay"]),
            "maximize": _flag(group["maximize"]),
        }
