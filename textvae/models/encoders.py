"""Encoders: token ids to per-token states and one sentence vector."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textvae.config import EncoderConfig

RNNS = {"gru": nn.GRU, "lstm": nn.LSTM}


class RNNEncoder(nn.Module):
    """A (bi)directional GRU/LSTM; the sentence vector joins the last layer's final states."""

    def __init__(self, embedding: nn.Embedding, config: EncoderConfig):
        super().__init__()
        self.embedding = embedding
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
        hidden = final[0] if isinstance(final, tuple) else final  # LSTM returns (h, c)
        last = hidden[-self.directions:]  # (dirs, B, H) of the top layer
        return states, last.transpose(0, 1).reshape(tokens.size(0), -1)
