"""Classifiers and adversaries: a CNN sentence classifier that also reads soft token
distributions, and small MLP heads on codes."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from textvae.data.tokenizer import PAD_ID
from textvae.objectives.mmd import batch_standardise


def mlp(inputs: int, outputs: int, hidden: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(), nn.Linear(hidden, outputs))


class Standardise(nn.Module):
    """Scale every feature to zero mean and unit variance over the batch: an adversary reading
    standardised codes cannot be fooled by shrinking the direction that carries the label (a
    probe standardises its inputs too)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return batch_standardise(x)


def code_adversary(inputs: int, outputs: int, standardise: bool) -> nn.Module:
    """An MLP that predicts ``outputs`` classes from a code, optionally standardised first."""
    return nn.Sequential(Standardise(), mlp(inputs, outputs)) if standardise else mlp(inputs, outputs)


class StyleClassifier(nn.Module):
    """A CNN sentence classifier (Kim 2014) that also reads soft token distributions."""

    def __init__(self, vocab_size: int, embedding_dim: int, num_labels: int, filters: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, filters, k, padding=k // 2) for k in (3, 4, 5))
        self.out = nn.Linear(3 * filters, num_labels)

    def forward(self, tokens: Optional[torch.Tensor] = None, probs: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits from token ids ``(B, T)`` or distributions ``(B, T, V)`` with a ``(B, T)`` mask."""
        if tokens is not None:
            x, mask = self.embedding(tokens), tokens != PAD_ID
        else:
            x = probs.to(self.embedding.weight.dtype) @ self.embedding.weight
        x = (x * mask[..., None].to(x.dtype)).transpose(1, 2)
        pooled = [conv(x)[..., :x.size(2)].masked_fill(~mask[:, None, :], -1e4).max(-1).values for conv in self.convs]
        return self.out(torch.cat(pooled, -1))
