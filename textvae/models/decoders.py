"""Decoders conditioned on a latent code, with a one-step interface for search.

``step(state, last_tokens) -> (log_probs, state)`` is the single entry point that
every decoding strategy drives; ``select(state, index)`` subsets or reorders the batch.
A latent of size 0 gives an unconditional language model (the LM baseline).
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
        self.is_lstm = config.type == "lstm"
        self.concat = config.latent_concat and latent_dim > 0
        input_size = embedding.embedding_dim + (latent_dim if self.concat else 0)
        self.rnn = RNNS[config.type](
            input_size, config.hidden_size, num_layers=config.num_layers, batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        use_init = config.latent_init and latent_dim > 0
        self.init = nn.Linear(latent_dim, config.hidden_size * config.num_layers) if use_init else None
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(config.hidden_size, embedding.num_embeddings)
        if config.tie_embeddings:
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
        if self.concat:
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


class TransformerDecoder(nn.Module):
    """A pre-norm causal Transformer decoder; ``z`` is the cross-attention memory
    (``latent_init``) and/or is added to every input embedding (``latent_concat``).

    Its step function re-reads the prefix at every step; the state keeps the tokens so far.
    """

    def __init__(self, embedding: nn.Embedding, latent_dim: int, config: DecoderConfig, dropout: float = 0.0):
        super().__init__()
        width = config.hidden_size
        self.embedding = embedding
        self.config = config
        self.input = nn.Linear(embedding.embedding_dim, width) if embedding.embedding_dim != width else nn.Identity()
        self.positions = nn.Embedding(config.max_length, width)
        self.memory = nn.Linear(latent_dim, width) if config.latent_init and latent_dim > 0 else None
        self.latent_add = nn.Linear(latent_dim, width) if config.latent_concat and latent_dim > 0 else None
        if self.memory is not None:
            layer = nn.TransformerDecoderLayer(width, config.num_heads, config.ff_size, config.dropout,
                                               batch_first=True, norm_first=True)
            self.layers = nn.TransformerDecoder(layer, config.num_layers)
        else:
            layer = nn.TransformerEncoderLayer(width, config.num_heads, config.ff_size, config.dropout,
                                               batch_first=True, norm_first=True)
            self.layers = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, embedding.num_embeddings)
        if config.tie_embeddings:
            self.out.weight = embedding.weight

    def _hidden(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        length = tokens.size(1)
        if length > self.config.max_length:
            raise ValueError(f"sequence of {length} tokens exceeds decoder.max_length {self.config.max_length}")
        positions = torch.arange(length, device=tokens.device)
        x = self.input(self.dropout(self.embedding(tokens))) + self.positions(positions)[None]
        if self.latent_add is not None:
            x = x + self.latent_add(z)[:, None, :]
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=tokens.device, dtype=x.dtype)
        if self.memory is not None:
            h = self.layers(x, self.memory(z)[:, None, :], tgt_mask=causal, tgt_is_causal=True)
        else:
            h = self.layers(x, mask=causal, is_causal=True)
        return self.norm(h)

    def initial_state(self, z: torch.Tensor) -> State:
        return {"z": z, "tokens": torch.zeros(z.size(0), 0, dtype=torch.long, device=z.device)}

    def forward(self, tgt_in: torch.Tensor, z: torch.Tensor, state: Optional[State] = None) -> torch.Tensor:
        return self.out(self.dropout(self._hidden(tgt_in, z)))

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        tokens = torch.cat([state["tokens"], last_tokens[:, None]], dim=1)
        h = self._hidden(tokens, state["z"])[:, -1]
        return torch.log_softmax(self.out(h).float(), dim=-1), {"z": state["z"], "tokens": tokens}

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return {k: v.index_select(0, index) for k, v in state.items()}


def build_decoder(embedding: nn.Embedding, latent_dim: int, config: DecoderConfig, dropout: float) -> nn.Module:
    cls = TransformerDecoder if config.type == "transformer" else RNNDecoder
    return cls(embedding, latent_dim, config, dropout)
