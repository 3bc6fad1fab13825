"""Decoders conditioned on a latent code, with a one-step interface for search.

``step(state, last_tokens) -> (log_probs, state)`` is the single entry point that
every decoding strategy drives; the state carries the RNN hidden state and ``z``.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from textvae.config import DecoderConfig
from textvae.models.encoders import RNNS

State = Dict[str, torch.Tensor]


class RNNDecoder(nn.Module):
    """GRU/LSTM language model conditioned on ``z`` as initial state and/or extra input (Bowman et al. 2016)."""

    def __init__(self, embedding: nn.Embedding, latent_dim: int, config: DecoderConfig, dropout: float = 0.0):
        super().__init__()
        self.embedding = embedding
        self.config = config
        self.latent_dim = latent_dim
        self.is_lstm = config.type == "lstm"
        input_size = embedding.embedding_dim + (latent_dim if config.latent_concat else 0)
        self.rnn = RNNS[config.type](
            input_size, config.hidden_size, num_layers=config.num_layers, batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.init = nn.Linear(latent_dim, config.hidden_size * config.num_layers) if config.latent_init else None
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(config.hidden_size, embedding.num_embeddings)
        if config.tie_embeddings:
            if config.hidden_size != embedding.embedding_dim:
                raise ValueError("decoder.tie_embeddings needs decoder.hidden_size == model.embedding_dim")
            self.out.weight = embedding.weight

    def initial_state(self, z: torch.Tensor) -> State:
        batch = z.size(0)
        layers, hidden = self.config.num_layers, self.config.hidden_size
        if self.init is not None:
            h = torch.tanh(self.init(z)).view(batch, layers, hidden).transpose(0, 1).contiguous()
        else:
            h = z.new_zeros(layers, batch, hidden)
        state = {"h": h, "z": z}
        if self.is_lstm:
            state["c"] = torch.zeros_like(h)
        return state

    def _inputs(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(tokens))
        if self.config.latent_concat:
            x = torch.cat([x, z[:, None, :].expand(-1, x.size(1), -1)], dim=-1)
        return x

    def _run(self, x: torch.Tensor, state: State) -> Tuple[torch.Tensor, State]:
        hidden = (state["h"], state["c"]) if self.is_lstm else state["h"]
        out, hidden = self.rnn(x, hidden)
        new = {"z": state["z"]}
        if self.is_lstm:
            new["h"], new["c"] = hidden
        else:
            new["h"] = hidden
        return out, new

    def forward(self, tgt_in: torch.Tensor, z: torch.Tensor, state: Optional[State] = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``."""
        out, _ = self._run(self._inputs(tgt_in, z), state or self.initial_state(z))
        return self.out(self.dropout(out))

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        """One decoding step: log-probabilities ``(B, V)`` for the next token and the new state."""
        out, state = self._run(self._inputs(last_tokens[:, None], state["z"]), state)
        return torch.log_softmax(self.out(out[:, 0]).float(), dim=-1), state

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        """Reorder or subset the batch dimension of a state (for beams and finished rows)."""
        return {k: (v.index_select(1, index) if k in ("h", "c") else v.index_select(0, index))
                for k, v in state.items()}
