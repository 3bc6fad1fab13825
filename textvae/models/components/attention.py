"""Decoders that attend to encoder states and are told a style: what the style-transfer models
without a latent code decode with (back-translation, the pivot pipeline)."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from textvae.config import DecoderConfig
from textvae.models.components.decoders import Decoder, TransformerDecoder
from textvae.models.components.encoders import RNNS

State = Dict[str, torch.Tensor]


class StyleTransformerDecoder(TransformerDecoder):
    """Transformer decoder conditioned on encoder states (cross-attention) and a style vector."""

    static_steps = False  # the memory's length changes with each batch's sources: no CUDA graphs

    def __init__(self, embedding: nn.Embedding, memory_size: int, config: DecoderConfig, dropout: float):
        super().__init__(embedding, 0, config, dropout, cross=True)
        self.memory_proj = nn.Linear(memory_size, config.hidden_size)

    def condition(self, context: State) -> State:
        return {"memory": self.memory_proj(context["states"]), "memory_mask": context["mask"],
                "add": context["style_vector"]}


class AttentionRNNDecoder(Decoder):
    """GRU/LSTM decoder with global (dot) attention over encoder states (Luong et al. 2015);
    the style vector is added to every input embedding and the sentence vector sets the
    initial state."""

    def __init__(self, embedding: nn.Embedding, memory_size: int, config: DecoderConfig, dropout: float):
        super().__init__()
        self.embedding, self.config = embedding, config
        hidden, layers = config.hidden_size, config.num_layers
        self.is_lstm = config.type == "lstm"
        self.rnn = RNNS[config.type](embedding.embedding_dim, hidden, num_layers=layers, batch_first=True,
                                     dropout=config.dropout if layers > 1 else 0.0)
        self.init = nn.Linear(memory_size, hidden * layers)
        self.keys = nn.Linear(memory_size, hidden, bias=False)
        self.combine = nn.Linear(hidden + memory_size, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, embedding.num_embeddings)

    def condition(self, context: State) -> State:
        batch = context["states"].size(0)
        layers, hidden = self.config.num_layers, self.config.hidden_size
        h = torch.tanh(self.init(context["sentence"])).view(batch, layers, hidden).transpose(0, 1).contiguous()
        cond = {"memory": context["states"], "keys": self.keys(context["states"]), "memory_mask": context["mask"],
                "add": context["style_vector"], "h": h}
        if self.is_lstm:
            cond["c"] = torch.zeros_like(h)
        return cond

    def _attend(self, out: torch.Tensor, cond: State) -> torch.Tensor:
        scores = out @ cond["keys"].transpose(1, 2)  # (B, T, S)
        scores = scores.masked_fill(~cond["memory_mask"][:, None, :], float("-inf"))
        context = scores.softmax(-1) @ cond["memory"]
        return torch.tanh(self.combine(torch.cat([out, context], -1)))

    def _run(self, x: torch.Tensor, cond: State):
        hidden = (cond["h"], cond["c"]) if self.is_lstm else cond["h"]
        out, hidden = self.rnn(self.dropout(x + cond["add"][:, None, :]), hidden)
        return out, hidden

    def forward(self, tgt_in: torch.Tensor, context: State, state: Optional[State] = None) -> torch.Tensor:
        cond = self.condition(context)
        out, _ = self._run(self.embedding(tgt_in), cond)
        return self.out(self.dropout(self._attend(out, cond)))

    def initial_state(self, context: State, cache: bool = True, static: bool = False) -> State:
        return self.condition(context)

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        return self.step_embedded(state, self.embedding(last_tokens))

    def step_embedded(self, state: State, embedded: torch.Tensor) -> Tuple[torch.Tensor, State]:
        out, hidden = self._run(embedded[:, None], state)
        new = dict(state)
        if self.is_lstm:
            new["h"], new["c"] = hidden
        else:
            new["h"] = hidden
        logits = self.out(self.dropout(self._attend(out, state)[:, 0]))
        return logits.float(), new

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return {k: v.index_select(1 if k in ("h", "c") else 0, index) for k, v in state.items()}


def build_attention_decoder(embedding: nn.Embedding, memory_size: int, config: DecoderConfig,
                            dropout: float) -> Decoder:
    """The decoder ``config`` names, attending to ``memory_size``-wide states; its ``style_size``
    is the width of the style vector it adds to its inputs."""
    if config.type == "transformer":
        decoder = StyleTransformerDecoder(embedding, memory_size, config, dropout)
        decoder.style_size = config.hidden_size
    else:
        decoder = AttentionRNNDecoder(embedding, memory_size, config, dropout)
        decoder.style_size = embedding.embedding_dim
    return decoder
