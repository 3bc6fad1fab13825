"""Transfer without a style head: move a sentence's code towards the codes of target-style sentences
and away from those of the source style, then decode (Larsson, Nilsson and Kagebaeck 2017,
"Disentangled representations for manipulation of sentiment in text"; the deep-feature
interpolation of Gardner et al. 2017 carried to sentence codes). It works on every model with a
code and a decoder, so it asks whether a plain AE's or VAE's code knows the style at all.

Each code z takes ``steps`` gradient steps of size ``step_size`` (in units of the codes' spread) on

    -log K_target(z) + log K_source(z) + stay x ||z - z0||^2 / h^2,   K_X(z) = mean_x k(z, x),

the cross terms of MMD^2({z}, target codes) - MMD^2({z}, source codes)

with a Gaussian kernel whose bandwidth is the median distance between reference codes (the
median heuristic); for a single point MMD^2({z}, T) = k(z, z) - 2 mean_t k(z, t) + const, so the
step raises z's mean kernel similarity to the target set and lowers it to the source set. We
descend the logarithm of those similarities (a softmax-weighted pull towards the nearest
reference codes), whose gradient does not vanish far from the sets as the kernel's does. The
source style of each sentence is the one whose reference codes it is most similar to (the
paper knows it; here a sentence of unknown style works too). Differences from the paper: they
move the code of an autoencoder trained with an MMD-regularised code and pick the step count by
hand per sentence; here the steps and the step size are options, the same for every sentence.
"""

from __future__ import annotations

import math
import random
from typing import Dict, List, Sequence

import torch

from textvae.errors import TextvaeError


def reference_codes(model, texts: Sequence[str], labels: Sequence[int], per_style: int = 500, seed: int = 0
                    ) -> Dict[int, torch.Tensor]:
    """Codes of up to ``per_style`` sentences of each style (drawn with ``seed``)."""
    rng = random.Random(seed)
    out = {}
    for style in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == style]
        chosen = rng.sample(rows, min(per_style, len(rows)))
        out[style] = model.encode([texts[i] for i in chosen]).float().clone()  # a normal tensor, for autograd
    if len(out) < 2:
        raise TextvaeError("latent manipulation needs reference sentences of two or more styles")
    return out


def _log_kernel(z: torch.Tensor, refs: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """log of the mean Gaussian kernel similarity of each row of ``z`` to the reference codes."""
    return torch.logsumexp(-torch.cdist(z, refs) ** 2 / (2 * bandwidth ** 2), dim=1) - math.log(len(refs))


def median_bandwidth(refs: Dict[int, torch.Tensor]) -> float:
    every = torch.cat(list(refs.values()))
    sample = every[torch.randperm(len(every), generator=torch.Generator().manual_seed(0))[:1000]]
    distances = torch.pdist(sample)
    return float(distances.median()) if len(distances) else 1.0


def move_codes(codes: torch.Tensor, target: int, refs: Dict[int, torch.Tensor], steps: int = 50,
               step_size: float = 0.1, stay: float = 0.01) -> List[torch.Tensor]:
    """The codes after each step (``steps + 1`` tensors, the first the codes themselves)."""
    if steps < 0 or not step_size > 0 or not stay >= 0:
        raise TextvaeError(f"steps must be 0 or more, step_size positive and stay not negative, got {steps}, "
                           f"{step_size} and {stay}")
    if target not in refs:
        raise TextvaeError(f"no reference sentences of the target style {target}")
    bandwidth = median_bandwidth(refs)
    start = codes.detach().float().clone()
    styles = sorted(refs)
    with torch.no_grad():  # each sentence's own style: the reference set it is most similar to
        similarity = torch.stack([_log_kernel(start, refs[s], bandwidth) for s in styles], 1)
        own = torch.tensor([styles[i] for i in similarity.argmax(1).tolist()])
    z = start.clone().requires_grad_(True)
    path = [start.clone()]
    optimizer = torch.optim.SGD([z], lr=step_size * bandwidth)  # steps in units of the codes' spread
    for _ in range(steps):
        optimizer.zero_grad()
        towards = _log_kernel(z, refs[target], bandwidth)
        away = torch.zeros_like(towards)
        for s in styles:
            rows = (own == s) & (own != target)
            if rows.any():
                away = away + rows.float() * _log_kernel(z, refs[s], bandwidth)
        loss = (away - towards).sum() + stay * ((z - start) ** 2).sum() / bandwidth ** 2
        loss.backward()
        optimizer.step()
        path.append(z.detach().clone())
    return path
