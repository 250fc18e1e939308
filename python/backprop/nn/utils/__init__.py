"""Gradient clipping and the gradient-flow monitor (torch.nn.utils, plus GradFlow)."""

from .clip_grad import clip_grad_norm_, clip_grad_value_
from .gradflow import GradFlow

__all__ = ["clip_grad_norm_", "clip_grad_value_", "GradFlow"]
