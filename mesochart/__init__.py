"""Mesochart: open clinic software for mesotherapy and skin-booster practices."""

__version__ = "0.1.0"
