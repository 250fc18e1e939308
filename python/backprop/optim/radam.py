from .. import _core
from ._checks import beta_options, check_adam_like
from .optimizer import Optimizer, _flag


class RAdam(Optimizer):
    """RAdam, as torch.optim.RAdam: Adam with the adaptive term rectified, and off while its
    variance is intractable; decoupled_weight_decay=True decays the weights as AdamW does."""

    _core_class = _core._RAdam

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        check_adam_like(group)

    def _options(self, group):
        return {
            "lr": float(group["lr"]),
            **beta_options(group),
            "eps": float(group["eps"]),
            "weight_decay": float(group["weight_decay"]),
            "decoupled_weight_decay": _flag(group["decoupled_weight_decay"]),
            "maximize": _flag(group["maximize"]),
        }
