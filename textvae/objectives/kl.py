"""The KL term of the ELBO, with free bits."""

from __future__ import annotations

import torch

from textvae.config import FreeBitsConfig


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per dimension, ``(B, D)``."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def kl_penalty(kl_dims: torch.Tensor, free_bits: FreeBitsConfig) -> torch.Tensor:
    """The batch-mean KL to penalise: all of it, or only what exceeds the free bits.

    ``batch`` clamps the batch-mean total KL at ``nats``; ``per_dim`` clamps each
    dimension's batch-mean KL at ``nats`` (Kingma et al. 2016), so no dimension is pushed
    below it and collapsed dimensions keep a gradient-free floor.
    """
    if free_bits.type == "per_dim":
        return kl_dims.mean(0).clamp(min=free_bits.nats).sum()
    total = kl_dims.sum(1).mean()
    if free_bits.type == "batch":
        return total.clamp(min=free_bits.nats)
    return total
