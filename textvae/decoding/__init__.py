"""Decoding strategies that drive a model's one-step function, and the batched entry point."""

from textvae.decoding.decode import DecodeOptions, decode
from textvae.decoding.search import beam_search, greedy, sample, soft_decode

__all__ = ["DecodeOptions", "decode", "beam_search", "greedy", "sample", "soft_decode"]
