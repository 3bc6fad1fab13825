"""Decoding strategies that drive a model's one-step function."""

from textvae.decoding.search import greedy

__all__ = ["greedy"]
