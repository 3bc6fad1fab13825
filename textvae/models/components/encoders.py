"""Encoders: token ids to per-token states and one sentence vector."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textvae.config import EncoderConfig

RNNS = {"gru": nn.GRU, "lstm": nn.LSTM}


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """True at padded positions, ``(B, width)``."""
    return torch.arange(width, device=lengths.device)[None, :] >= lengths[:, None]


def pool(states: torch.Tensor, lengths: torch.Tensor, how: str) -> torch.Tensor:
    """Mean or max of the states over each sentence's real tokens."""
    pad = padding_mask(lengths, states.size(1))[:, :, None]
    if how == "max":
        return states.masked_fill(pad, float("-inf")).max(1).values
    return states.masked_fill(pad, 0.0).sum(1) / lengths.clamp(min=1)[:, None].to(states.dtype)


class RNNEncoder(nn.Module):
    """A (bi)directional GRU/LSTM; the sentence vector joins the last layer's final states
    (``pooling: final``) or pools the states over time (``mean``, ``max``)."""

    def __init__(self, embedding: nn.Embedding, config: EncoderConfig):
        super().__init__()
        self.embedding = embedding
        self.pooling = config.pooling
        self.rnn = RNNS[config.type](
            embedding.embedding_dim, config.hidden_size, num_layers=config.num_layers,
            bidirectional=config.bidirectional, batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.directions = 2 if config.bidirectional else 1
        self.output_size = config.hidden_size * self.directions

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                embedded: torch.Tensor = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(states (B, S, H*dirs), sentence vector (B, H*dirs))``."""
        x = self.embedding(tokens) if embedded is None else embedded
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        states, final = self.rnn(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=tokens.size(1))
        if self.pooling != "final":
            return states, pool(states, lengths, self.pooling)
        hidden = final[0] if isinstance(final, tuple) else final  # LSTM returns (h, c)
        last = hidden[-self.directions:]  # (dirs, B, H) of the top layer
        return states, last.transpose(0, 1).reshape(tokens.size(0), -1)


class TransformerEncoder(nn.Module):
    """A pre-norm Transformer encoder (Vaswani et al. 2017) with learned positions;
    the sentence vector pools the final states (mean by default, or max)."""

    def __init__(self, embedding: nn.Embedding, config: EncoderConfig, max_length: int = 512):
        super().__init__()
        width = config.hidden_size
        self.embedding = embedding
        self.max_length = max_length
        self.pooling = "max" if config.pooling == "max" else "mean"
        self.input = nn.Linear(embedding.embedding_dim, width) if embedding.embedding_dim != width else nn.Identity()
        self.positions = nn.Embedding(max_length, width)
        layer = nn.TransformerEncoderLayer(width, config.num_heads, config.ff_size, config.dropout,
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.output_size = width

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                embedded: torch.Tensor = None) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.embedding(tokens) if embedded is None else embedded
        positions = torch.arange(tokens.size(1), device=tokens.device)
        x = self.input(x) + self.positions(positions)[None]
        pad = padding_mask(lengths, tokens.size(1))
        states = self.norm(self.layers(x, src_key_padding_mask=pad))
        return states, pool(states, lengths, self.pooling)


def build_encoder(embedding: nn.Embedding, config: EncoderConfig) -> nn.Module:
    if config.type == "transformer":
        return TransformerEncoder(embedding, config)
    return RNNEncoder(embedding, config)
