"""Probing classifiers: how much of a label can be read from a representation.

Used to check disentanglement (John et al. 2019, Table 4): a classifier trained on the style
code ``s`` should recover the style, one trained on the content code ``c`` should be near
chance. A small MLP is used rather than a linear model, so that "near chance" is not just
"not linearly separable".
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def probe_accuracy(train_x: torch.Tensor, train_y: Sequence[int], test_x: torch.Tensor, test_y: Sequence[int],
                   hidden: int = 64, epochs: int = 200, seed: int = 0) -> float:
    """Test accuracy of an MLP probe trained (full batch, Adam) on ``train_x -> train_y``."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        x, y = train_x.detach().float().cpu(), torch.as_tensor(list(train_y))
        mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
        classes = int(max(max(train_y), max(test_y))) + 1
        probe = nn.Sequential(nn.Linear(x.size(1), hidden), nn.ReLU(), nn.Linear(hidden, classes))
        optimizer = torch.optim.Adam(probe.parameters(), lr=1e-2, weight_decay=1e-4)
        for _ in range(epochs):
            optimizer.zero_grad()
            nn.functional.cross_entropy(probe((x - mean) / std), y).backward()
            optimizer.step()
        with torch.no_grad():
            predicted = probe((test_x.detach().float().cpu() - mean) / std).argmax(-1)
        return float((predicted == torch.as_tensor(list(test_y))).float().mean())
    finally:
        torch.random.set_rng_state(generator_state)
