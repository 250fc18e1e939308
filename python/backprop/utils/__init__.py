"""Utilities: data loading and gradient checkpointing live here."""
