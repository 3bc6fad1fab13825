"""Latent heads: turn a sentence vector into a latent code ``z``.

Each head returns a dict with ``z`` (the code the decoder sees in training), ``mean``
(the code used for deterministic inference) and, for Gaussian posteriors, ``logvar``.
"""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from textvae.config import BatchNormConfig, LatentConfig


class DeterministicLatent(nn.Module):
    """A plain (denoising) autoencoder bottleneck: ``z = W h``."""

    def __init__(self, input_size: int, config: LatentConfig):
        super().__init__()
        self.dim = config.dim
        self.proj = nn.Linear(input_size, config.dim)

    def forward(self, sentence: torch.Tensor) -> Dict[str, torch.Tensor]:
        z = self.proj(sentence)
        return {"z": z, "mean": z}


class MeanBatchNorm(nn.Module):
    """BN on the posterior mean (BN-VAE, Zhu et al. 2020, "A Batch Normalized Inference
    Network Keeps the KL Vanishing Away").

    With scale gamma and shift beta per dimension, the batch mean of mu^2 is gamma^2 + beta^2,
    so the expected KL is at least ``sum_d (gamma_d^2 + beta_d^2) / 2`` whatever the encoder does.
    """

    def __init__(self, dim: int, config: BatchNormConfig):
        super().__init__()
        self.config = config
        self.bn = nn.BatchNorm1d(dim, affine=False)
        self.shift = nn.Parameter(torch.zeros(dim))
        if config.type == "learnable":
            self.theta = nn.Parameter(torch.zeros(dim))

    @property
    def gamma(self) -> torch.Tensor:
        if self.config.type == "learnable":
            tau = self.config.tau
            return torch.sqrt(tau + (1.0 - tau) * torch.sigmoid(self.theta))
        return torch.full_like(self.shift, self.config.gamma)

    def forward(self, mean: torch.Tensor) -> torch.Tensor:
        return self.bn(mean) * self.gamma + self.shift


class GaussianLatent(nn.Module):
    """Diagonal Gaussian posterior with the reparameterisation trick (Kingma & Welling 2014)."""

    def __init__(self, input_size: int, config: LatentConfig):
        super().__init__()
        self.dim = config.dim
        self.mean = nn.Linear(input_size, config.dim)
        self.logvar = nn.Linear(input_size, config.dim)
        self.batch_norm = MeanBatchNorm(config.dim, config.batch_norm) if config.batch_norm.type != "none" else None

    def forward(self, sentence: torch.Tensor) -> Dict[str, torch.Tensor]:
        mean = self.mean(sentence)
        if self.batch_norm is not None:
            mean = self.batch_norm(mean)
        logvar = self.logvar(sentence)
        # A sample in evaluation too: the loss must be a real (single-sample) ELBO, not the
        # optimistic likelihood at the mean. Decoding from the mean uses ``mean``.
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return {"z": z, "mean": mean, "logvar": logvar}

    @staticmethod
    def sample(mean: torch.Tensor, logvar: torch.Tensor, k: int) -> torch.Tensor:
        """``k`` posterior samples per sentence, ``(B, k, D)``."""
        eps = torch.randn(mean.size(0), k, mean.size(1), device=mean.device, dtype=mean.dtype)
        return mean[:, None] + eps * torch.exp(0.5 * logvar)[:, None]


LATENTS = {"deterministic": DeterministicLatent, "gaussian": GaussianLatent}


def build_latent(input_size: int, config: LatentConfig) -> nn.Module:
    return LATENTS[config.type](input_size, config)
