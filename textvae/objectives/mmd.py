"""Maximum mean discrepancy between the aggregate posterior and the prior (InfoVAE, Zhao et al. 2019)."""

from __future__ import annotations

import torch


def _kernel(x: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    dim = x.size(1)
    dist = torch.cdist(x, y).pow(2)
    if kind == "rbf":
        return torch.exp(-dist / dim)
    scale = 2.0 * dim  # inverse multiquadratic with C = 2 * dim * sigma^2, sigma = 1 (Tolstikhin et al. 2018)
    return scale / (scale + dist)


def mmd(z: torch.Tensor, prior: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Unbiased MMD^2 estimate between samples ``z`` (B, D) and prior samples (B, D)."""
    n = z.size(0)
    if n < 2:
        return z.new_zeros(())
    off_diagonal = 1.0 - torch.eye(n, device=z.device, dtype=z.dtype)
    k_zz = (_kernel(z, z, kernel) * off_diagonal).sum() / (n * (n - 1))
    k_pp = (_kernel(prior, prior, kernel) * off_diagonal).sum() / (n * (n - 1))
    k_zp = _kernel(z, prior, kernel).mean()
    return k_zz + k_pp - 2.0 * k_zp
