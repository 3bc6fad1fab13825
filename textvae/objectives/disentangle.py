"""Disentangling penalties on a Gaussian (or deterministic) sentence code (issue 24).

- capacity (Burgess et al. 2018, "Understanding disentangling in beta-VAE"): gamma x |KL - C|,
  C raised linearly from 0 to ``c_max`` nats over ``c_steps`` steps (in place of the KL term);
- beta-TCVAE (Chen, Li, Grosse and Duvenaud 2018): the KL split into index-code mutual
  information, total correlation and dimension-wise KL, each weighted (alpha, beta, dim_kl), with
  the stratified estimate of q(z) (in place of the KL term);
- FactorVAE (Kim and Mnih 2018): gamma x the total correlation a discriminator estimates from
  codes against codes whose dimensions are permuted across the batch (the discriminator has its
  own optimizer; the model reads it frozen);
- DIP-VAE I and II (Kumar, Sattigeri and Balakrishnan 2018): the covariance of the posterior means
  (I) or of the aggregate posterior (II: plus the mean posterior variance) pushed to the identity,
  lambda_od off the diagonal and lambda_d on it;
- L_Sigma (Kagebaeck and Mogren 2018, "Disentanglement by penalizing correlation"): gamma x the
  summed absolute off-diagonal covariance of the codes in the batch;
- the F-statistic loss (Ridgeway and Mozer 2018): chosen code dimensions are made to separate a
  labelled factor (the corpus' label), by the one-way ANOVA F statistic of each dimension over the
  batch's classes. The paper maximises the F distribution's CDF on the best-separating dimensions
  of each class pair; torch has no differentiable F CDF, so this port maximises log(F / (1 + F)),
  which rises with F and saturates in the same way, on dimensions the recipe names.
"""

from __future__ import annotations

import math
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def capacity_target(step: int, c_max: float, c_steps: int) -> float:
    """C at ``step``: linear from 0 to ``c_max`` over ``c_steps`` steps, then ``c_max``."""
    return c_max * min(1.0, step / max(c_steps, 1))


def _log_normal(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + logvar + (z - mean) ** 2 / logvar.exp())


def kl_decomposition(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int
                     ) -> Dict[str, torch.Tensor]:
    """``mi``, ``tc`` and ``dim_kl`` of a batch (nats per sentence). q(z_i) is estimated from the
    batch with stratified weights (Chen et al. 2018, appendix C.2): z_i's own posterior counts 1/N,
    each of the other M-1 sentences (N-1)/(N(M-1)); the same for every marginal q(z_id). The
    released code's default (minibatch-weighted sampling, log(NM) for every term) shifts the TC by
    (D-1) log N, which does not change its gradient but makes the value meaningless; these weights
    give values that are near 0 for independent dimensions."""
    m, n = z.size(0), max(dataset_size, z.size(0))
    pairwise = _log_normal(z[:, None, :], mean[None, :, :], logvar[None, :, :])  # (M, M, D)
    if m > 1:
        log_w = torch.full((m, m), math.log((n - 1) / (n * (m - 1))), device=z.device, dtype=z.dtype)
        log_w.fill_diagonal_(math.log(1 / n))
    else:
        log_w = torch.zeros(1, 1, device=z.device, dtype=z.dtype)
    log_qz = torch.logsumexp(log_w + pairwise.sum(2), dim=1)
    log_prod_qz = torch.logsumexp(log_w[:, :, None] + pairwise, dim=1).sum(1)
    log_qz_x = _log_normal(z, mean, logvar).sum(1)
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    return {"mi": (log_qz_x - log_qz).mean(), "tc": (log_qz - log_prod_qz).mean(),
            "dim_kl": (log_prod_qz - log_pz).mean()}


def covariance(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / max(x.size(0) - 1, 1)


def dip_penalty(mean: torch.Tensor, logvar: torch.Tensor, kind: str, lambda_od: float, lambda_d: float
                ) -> torch.Tensor:
    """DIP-VAE's moment matching: ``kind`` ``dip1`` (covariance of the means) or ``dip2`` (plus the
    mean posterior variance on the diagonal)."""
    cov = covariance(mean)
    if kind == "dip2":
        cov = cov + torch.diag(logvar.exp().mean(0))
    diagonal = torch.diagonal(cov)
    off = cov - torch.diag(diagonal)
    return lambda_od * (off ** 2).sum() + lambda_d * ((diagonal - 1) ** 2).sum()


def covariance_penalty(z: torch.Tensor) -> torch.Tensor:
    """L_Sigma: the summed absolute off-diagonal covariance of the batch's codes."""
    cov = covariance(z)
    return (cov - torch.diag(torch.diagonal(cov))).abs().sum()


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Every dimension shuffled across the batch on its own: samples of the product of marginals."""
    return torch.stack([z[torch.randperm(z.size(0), device=z.device), d] for d in range(z.size(1))], dim=1)


class TCDiscriminator(nn.Module):
    """FactorVAE's discriminator: logits of (code from q(z), code from the product of marginals)."""

    def __init__(self, dim: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def discriminator_loss(discriminator: TCDiscriminator, z: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of telling the (detached) codes from their dimension-permuted copies."""
    z = z.detach()
    real, permuted = discriminator(z), discriminator(permute_dims(z))
    zeros = torch.zeros(z.size(0), dtype=torch.long, device=z.device)
    return 0.5 * (F.cross_entropy(real, zeros) + F.cross_entropy(permuted, zeros + 1))


def tc_estimate(logits: torch.Tensor) -> torch.Tensor:
    """The density-ratio estimate of the total correlation: mean of log D(z) / (1 - D(z))."""
    return (logits[:, 0] - logits[:, 1]).mean()


def f_statistic(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """One-way ANOVA F statistic of each column of ``values`` ``(N, J)`` over the classes in
    ``labels`` (between-class over within-class mean square); zeros when there is one class."""
    classes = labels.unique()
    n, c = values.size(0), len(classes)
    if c < 2 or n <= c:
        return torch.zeros(values.size(1), device=values.device)
    grand = values.mean(0)
    between = sum((labels == k).sum() * (values[labels == k].mean(0) - grand) ** 2 for k in classes) / (c - 1)
    within = sum(((values[labels == k] - values[labels == k].mean(0)) ** 2).sum(0) for k in classes) / (n - c)
    return between / within.clamp_min(1e-8)


def f_statistic_loss(z: torch.Tensor, labels: torch.Tensor, dims) -> torch.Tensor:
    """-mean log(F / (1 + F)) over the chosen dimensions (see the module docstring)."""
    f = f_statistic(z[:, list(dims)], labels)
    return -torch.log(f / (1 + f) + 1e-8).mean()
