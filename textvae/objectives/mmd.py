"""Maximum mean discrepancy: between the aggregate posterior and the prior (InfoVAE, Zhao et al.
2019), and between the codes of different labels (the Variational Fair Autoencoder's penalty,
Louizos et al. 2016)."""

from __future__ import annotations

import torch


def _kernel(x: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    dim = x.size(1)
    dist = torch.cdist(x, y).pow(2)
    if kind == "rbf":
        return torch.exp(-dist / dim)
    scale = 2.0 * dim  # inverse multiquadratic with C = 2 * dim * sigma^2, sigma = 1 (Tolstikhin et al. 2018)
    return scale / (scale + dist)


def mmd(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Unbiased MMD^2 estimate between samples ``x`` (N, D) and ``y`` (M, D), e.g. posterior
    samples and prior samples (Gretton et al. 2012, eq. 3)."""
    n, m = x.size(0), y.size(0)
    if n < 2 or m < 2:
        return x.new_zeros(())

    def within(a: torch.Tensor) -> torch.Tensor:
        k = a.size(0)
        off_diagonal = 1.0 - torch.eye(k, device=a.device, dtype=a.dtype)
        return (_kernel(a, a, kernel) * off_diagonal).sum() / (k * (k - 1))

    return within(x) + within(y) - 2.0 * _kernel(x, y, kernel).mean()


def batch_standardise(x: torch.Tensor) -> torch.Tensor:
    """Every feature of ``x`` (B, D) at zero mean and unit variance over the batch (as a probe
    sees its inputs)."""
    x = x.float()
    return (x - x.mean(0)) / x.std(0, unbiased=False).clamp(min=1e-3)


def label_mmd(codes: torch.Tensor, labels: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Mean MMD^2 between the codes of every pair of labels present in the batch (Louizos et al.
    2016, "The Variational Fair Autoencoder"): zero when the code's distribution does not depend
    on the label, so that no classifier, however strong, can read the label from it. The codes
    are standardised with the batch's statistics first, so that shrinking the code does not
    shrink the penalty."""
    codes = batch_standardise(codes)
    groups = [codes[labels == k] for k in labels.unique()]
    pairs = [mmd(a, b, kernel) for i, a in enumerate(groups) for b in groups[i + 1:]]
    return torch.stack(pairs).mean() if pairs else codes.new_zeros(())
