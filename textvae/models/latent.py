"""Latent heads: turn a sentence vector into a latent code ``z`` (and its loss terms)."""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from textvae.config import LatentConfig


class DeterministicLatent(nn.Module):
    """A plain autoencoder bottleneck: ``z = W h``; adds no loss term."""

    def __init__(self, input_size: int, config: LatentConfig):
        super().__init__()
        self.dim = config.dim
        self.proj = nn.Linear(input_size, config.dim)

    def forward(self, sentence: torch.Tensor) -> Dict[str, torch.Tensor]:
        z = self.proj(sentence)
        return {"z": z, "mean": z}


LATENTS = {"deterministic": DeterministicLatent}


def build_latent(input_size: int, config: LatentConfig) -> nn.Module:
    return LATENTS[config.type](input_size, config)
