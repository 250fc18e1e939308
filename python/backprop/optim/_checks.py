"""Hyperparameter checks the Adam family shares, with PyTorch's messages."""

from .optimizer import _finite


def check_adam_like(group, *names):
    """eps, weight_decay and `names` finite and non-negative; both betas in [0, 1)."""
    for name in ("eps", "weight_decay") + names:
        _finite("epsilon" if name == "eps" else name, group[name])
    for i, beta in enumerate(group["betas"]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def beta_options(group):
    beta1, beta2 = group["betas"]
    return {"beta1": float(beta1), "beta2": float(beta2)}
