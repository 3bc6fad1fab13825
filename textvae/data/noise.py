"""Input corruption for denoising autoencoders, as reusable transforms on padded batches.

Each function takes ``(tokens, lengths)`` (PAD-padded ``(B, S)`` ids and their lengths),
returns new ones, and draws its randomness from ``generator`` (or torch's global RNG,
which the trainer saves and restores on resume). Word dropout follows Bowman et al.
(2016); token drop and local shuffle follow Lample et al. (2018, "Unsupervised machine
translation using monolingual corpora only").
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from textvae.config import NoiseConfig
from textvae.data.tokenizer import PAD_ID, UNK_ID

Tensor = torch.Tensor


def _valid(tokens: Tensor, lengths: Tensor) -> Tensor:
    return torch.arange(tokens.size(1), device=tokens.device)[None, :] < lengths[:, None]


def word_dropout(tokens: Tensor, lengths: Tensor, p: float, unk_id: int = UNK_ID,
                 generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Replace each real token by ``<unk>`` with probability ``p``."""
    if p <= 0:
        return tokens, lengths
    drop = torch.rand(tokens.shape, generator=generator, device=tokens.device) < p
    return tokens.masked_fill(drop & _valid(tokens, lengths), unk_id), lengths


def token_drop(tokens: Tensor, lengths: Tensor, p: float,
               generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Delete each real token with probability ``p``, keeping at least one token per sentence."""
    if p <= 0:
        return tokens, lengths
    valid = _valid(tokens, lengths)
    keep = (torch.rand(tokens.shape, generator=generator, device=tokens.device) >= p) & valid
    empty = keep.sum(1) == 0
    keep[:, 0] |= empty & (lengths > 0)  # never delete a whole sentence
    new_lengths = keep.sum(1)
    position = torch.cumsum(keep.long(), 1) - 1
    out = torch.full_like(tokens, PAD_ID)
    rows = torch.arange(tokens.size(0), device=tokens.device)[:, None].expand_as(tokens)
    out[rows[keep], position[keep]] = tokens[keep]
    width = int(new_lengths.max()) if tokens.size(0) else 0
    return out[:, :width], new_lengths


def local_shuffle(tokens: Tensor, lengths: Tensor, window: float,
                  generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Permute tokens so that each moves at most ``window`` positions.

    Sort keys ``i + U(0, window + 1)``, as in Lample et al. (2018); padding stays at the end.
    """
    if window <= 0:
        return tokens, lengths
    valid = _valid(tokens, lengths)
    steps = torch.arange(tokens.size(1), device=tokens.device, dtype=torch.float)[None, :]
    noise = torch.rand(tokens.shape, generator=generator, device=tokens.device) * (window + 1)
    keys = torch.where(valid, steps + noise, torch.full_like(noise, float("inf")))
    order = keys.argsort(dim=1, stable=True)
    return tokens.gather(1, order), lengths


def corrupt(tokens: Tensor, lengths: Tensor, config: NoiseConfig,
            generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """The denoising autoencoder's input noise of ``config``: token drop, then local shuffle, then
    word dropout (each off at 0)."""
    tokens, lengths = token_drop(tokens, lengths, config.token_drop, generator)
    tokens, lengths = local_shuffle(tokens, lengths, config.shuffle_window, generator)
    return word_dropout(tokens, lengths, config.word_dropout, generator=generator)
