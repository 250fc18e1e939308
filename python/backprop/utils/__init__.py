"""Utilities: data loading and gradient checkpointing."""

from . import data  # noqa: F401
from .checkpoint import checkpoint  # noqa: F401
