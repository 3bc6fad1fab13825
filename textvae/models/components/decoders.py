"""Decoders conditioned on a latent code, with a one-step interface for search.

Every decoder follows :class:`Decoder`: ``initial_state(z)`` the decoding state for what it
conditions on, ``step(state, last_tokens) -> (logits, state)`` the single entry point that
every decoding strategy drives, ``select(state, index)`` subsets or reorders the batch and
``nll(tgt_in, z, tgt_out)`` the teacher-forced NLL for training. A latent of size 0 gives an
unconditional language model (the LM baseline).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from textvae.config import DecoderConfig
from textvae.models.components.encoders import RNNS
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.reconstruction import output_nll

State = Dict[str, torch.Tensor]


class Decoder(nn.Module):
    """The decoder protocol (see the module docstring). ``static_steps``: the state keeps its
    shapes from step to step and batch to batch, so CUDA graphs can capture a step
    (:mod:`textvae.decoding.cuda`); ``max_length``: the longest sequence it can decode (None: any)."""

    static_steps = False
    max_length: Optional[int] = None

    def initial_state(self, z, cache: bool = True, static: bool = False) -> State:
        raise NotImplementedError

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        raise NotImplementedError

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return {k: v.index_select(0, index) for k, v in state.items()}

    def nll(self, tgt_in: torch.Tensor, z, tgt_out: torch.Tensor) -> torch.Tensor:
        """Teacher-forced NLL per sentence ``(B,)`` (from the logits of ``forward``)."""
        return sentence_nll(self(tgt_in, z), tgt_out)


class OutputLayerDecoder(Decoder):
    """A decoder whose logits are ``self.out(self.features(...))``: the teacher-forced logits and a
    NLL that never materialises the log-probabilities (textvae.objectives.reconstruction.output_nll)."""

    def forward(self, tgt_in: torch.Tensor, z, state: Optional[State] = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``."""
        return self.out(self.features(tgt_in, z, state))

    def nll(self, tgt_in: torch.Tensor, z, tgt_out: torch.Tensor) -> torch.Tensor:
        """Teacher-forced NLL per sentence ``(B,)``."""
        return output_nll(self.features(tgt_in, z), self.out, tgt_out)


class RNNDecoder(OutputLayerDecoder):
    """GRU/LSTM language model conditioned on ``z`` as initial state and/or extra input (Bowman et al. 2016)."""

    static_steps = True  # fixed-shape state: CUDA graphs can capture a step (textvae.decoding.cuda)

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

    def initial_state(self, z: torch.Tensor, cache: bool = True, static: bool = False) -> State:
        """The hidden state after the inputs so far (an RNN's own cache). ``cache=False`` keeps
        the initial state and the inputs instead and re-runs the whole prefix every step (the
        naive way, for comparison: same outputs)."""
        batch = z.size(0)
        layers, hidden = self.config.num_layers, self.config.hidden_size
        if self.init is not None:
            h = torch.tanh(self.init(z)).view(batch, layers, hidden).transpose(0, 1).contiguous()
        else:
            h = z.new_zeros(layers, batch, hidden)
        state = {"h": h, "z": z}
        if self.is_lstm:
            state["c"] = torch.zeros_like(h)
        if not cache:
            state = {("h0" if k == "h" else "c0" if k == "c" else k): v for k, v in state.items()}
            state["inputs"] = z.new_zeros(batch, 0, self.rnn.input_size)
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

    def features(self, tgt_in: torch.Tensor, z: torch.Tensor, state: Optional[State] = None) -> torch.Tensor:
        """Teacher-forced inputs of the output layer ``(B, T, H)``."""
        out, _ = self._run(self._inputs(tgt_in, z), state or self.initial_state(z))
        return self.dropout(out)

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        """One decoding step: the next token's logits ``(B, V)`` (log-probabilities up to a per-row
        constant; search strategies normalise only where they need to) and the new state."""
        return self.step_embedded(state, self.embedding(last_tokens))

    def step_embedded(self, state: State, embedded: torch.Tensor) -> Tuple[torch.Tensor, State]:
        """One step from input vectors ``(B, E)`` (token embeddings, or expected embeddings in soft decoding)."""
        x = self.dropout(embedded[:, None])
        if self.concat:
            x = torch.cat([x, state["z"][:, None, :]], dim=-1)
        if "inputs" in state:  # uncached: the whole prefix again from the initial state
            inputs = torch.cat([state["inputs"], x], dim=1)
            start = {"z": state["z"], "h": state["h0"], **({"c": state["c0"]} if self.is_lstm else {})}
            out, _ = self._run(inputs, start)
            new = {**state, "inputs": inputs}
            return self.out(self.dropout(out[:, -1])).float(), new
        out, state = self._run(x, state)
        return self.out(self.dropout(out[:, 0])).float(), state

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        """Reorder or subset the batch dimension of a state (for beams and finished rows)."""
        return {k: (v.index_select(1, index) if k in ("h", "c", "h0", "c0") else v.index_select(0, index))
                for k, v in state.items()}


class DecoderBlock(nn.Module):
    """Pre-norm Transformer decoder block (Vaswani et al. 2017; pre-norm as in GPT-2): causal
    self-attention, optional cross-attention to a memory, feed-forward.

    In decoding the keys and values of past positions live in a cache in the state, so each step
    computes one position instead of the whole prefix.
    """

    def __init__(self, width: int, heads: int, ff_size: int, dropout: float, cross: bool):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attn_out = nn.Linear(width, width)
        self.cross = cross
        if cross:
            self.norm2 = nn.LayerNorm(width)
            self.cross_q = nn.Linear(width, width)
            self.cross_kv = nn.Linear(width, 2 * width)
            self.cross_out = nn.Linear(width, width)
        self.norm3 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff_size), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff_size, width))
        self.drop = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor, parts: int):
        """``(B, T, parts * W)`` -> ``parts`` tensors ``(B, H, T, W / H)``."""
        b, t, _ = x.shape
        return x.view(b, t, parts, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        b, h, t, d = x.shape
        return x.transpose(1, 2).reshape(b, t, h * d)

    def memory_kv(self, memory: torch.Tensor):
        return self._split(self.cross_kv(memory), 2)

    def forward(self, x: torch.Tensor, memory_kv=None, cache=None, pos=None):
        """``x`` ``(B, T, W)`` -> ``(B, T, W)``. In decoding, ``x`` is one position and ``cache``
        holds the keys/values ``(B, H, t, d)`` of the positions before it; then the result is
        ``(x, new_cache)``. With ``pos`` a (1,) tensor the cache is a fixed-size buffer written in
        place (static shapes for CUDA graphs); otherwise it grows (and gradients flow through it)."""
        p = self.dropout if self.training else 0.0
        q, k, v = self._split(self.qkv(self.norm1(x)), 3)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        elif pos is None:
            cache = (torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2))
            y = F.scaled_dot_product_attention(q, *cache)
        else:
            cache[0].index_copy_(2, pos, k.to(cache[0].dtype))
            cache[1].index_copy_(2, pos, v.to(cache[1].dtype))
            visible = torch.arange(cache[0].size(2), device=pos.device) <= pos
            y = F.scaled_dot_product_attention(q, *cache, attn_mask=visible[None, None, None, :])
        x = x + self.drop(self.attn_out(self._merge(y)))
        if self.cross:
            mk, mv, mask = memory_kv
            (q,) = self._split(self.cross_q(self.norm2(x)), 1)
            mask = None if mask is None else mask[:, None, None, :]
            y = F.scaled_dot_product_attention(q, mk, mv, attn_mask=mask, dropout_p=p)
            x = x + self.drop(self.cross_out(self._merge(y)))
        x = x + self.drop(self.ff(self.norm3(x)))
        return x if cache is None else (x, cache)


class TransformerDecoder(OutputLayerDecoder):
    """A pre-norm causal Transformer decoder; ``z`` is the cross-attention memory
    (``latent_init``) and/or is added to every input embedding (``latent_concat``).

    What conditions the decoder comes from :meth:`condition`: a vector ``add`` added to every
    input and/or a ``memory`` sequence (with ``memory_mask``, True where attended) for
    cross-attention; subclasses condition on other things (e.g. encoder states and a style).
    ``initial_state(z)`` holds a key/value cache per layer (one position per step);
    ``initial_state(z, cache=False)`` keeps the inputs so far and re-reads the whole prefix at
    every step instead (the naive way, kept for comparison and tests: same tokens).
    """

    static_steps = True  # with initial_state(static=True): a fixed-size cache and a position tensor

    def __init__(self, embedding: nn.Embedding, latent_dim: int, config: DecoderConfig, dropout: float = 0.0,
                 cross: Optional[bool] = None):
        super().__init__()
        width = config.hidden_size
        self.embedding = embedding
        self.config = config
        self.max_length = config.max_length
        self.input = nn.Linear(embedding.embedding_dim, width) if embedding.embedding_dim != width else nn.Identity()
        self.positions = nn.Embedding(config.max_length, width)
        self.memory = nn.Linear(latent_dim, width) if config.latent_init and latent_dim > 0 else None
        self.latent_add = nn.Linear(latent_dim, width) if config.latent_concat and latent_dim > 0 else None
        cross = self.memory is not None if cross is None else cross
        self.layers = nn.ModuleList(
            DecoderBlock(width, config.num_heads, config.ff_size, config.dropout, cross=cross)
            for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, embedding.num_embeddings)
        if config.tie_embeddings:
            self.out.weight = embedding.weight

    def condition(self, z: torch.Tensor) -> State:
        """``z`` -> ``add`` / ``memory`` (see the class docstring); ``z`` itself keeps the batch size."""
        cond: State = {"z": z}
        if self.latent_add is not None:
            cond["add"] = self.latent_add(z)
        if self.memory is not None:
            cond["memory"] = self.memory(z)[:, None, :]
        return cond

    def _embed(self, x: torch.Tensor, start, cond: State) -> torch.Tensor:
        """Input vectors ``(B, T, E)`` at positions ``start..start+T-1`` -> model width
        (``start`` an int, or a (1,) tensor in static-shape decoding)."""
        if isinstance(start, int):
            length = start + x.size(1)
            if length > self.config.max_length:
                raise ValueError(f"sequence of {length} tokens exceeds decoder.max_length {self.config.max_length}")
            positions = torch.arange(start, length, device=x.device)
        else:
            positions = start + torch.arange(x.size(1), device=x.device)
        x = self.input(self.dropout(x)) + self.positions(positions)[None]
        if "add" in cond:
            x = x + cond["add"][:, None, :]
        return x

    def _memory_kv(self, cond: State):
        if "memory" not in cond:
            return [None] * len(self.layers)
        mask = cond.get("memory_mask")
        return [(*layer.memory_kv(cond["memory"]), mask) for layer in self.layers]

    def _hidden(self, x: torch.Tensor, cond: State) -> torch.Tensor:
        for layer, kv in zip(self.layers, self._memory_kv(cond)):
            x = layer(x, kv)
        return self.norm(x)

    def features(self, tgt_in: torch.Tensor, z, state: Optional[State] = None) -> torch.Tensor:
        cond = self.condition(z)
        return self.dropout(self._hidden(self._embed(self.embedding(tgt_in), 0, cond), cond))

    def initial_state(self, z, cache: bool = True, static: bool = False) -> State:
        """Decoding state for codes ``z``: a key/value cache (``static``: with a position tensor
        on the device, for fixed-shape steps that CUDA graphs can capture), or with ``cache=False``
        the inputs so far."""
        cond = self.condition(z)
        ref = next(iter(cond.values()))
        batch, device = ref.size(0), ref.device
        if not cache:
            return {**cond, "inputs": self.embedding.weight.new_zeros(batch, 0, self.embedding.embedding_dim)}
        state: State = {k: v for k, v in cond.items() if k != "memory"}
        state["pos"] = torch.zeros(1 if static else (), dtype=torch.long, device=device)
        heads, width = self.config.num_heads, self.config.hidden_size
        shape = (batch, heads, self.config.max_length if static else 0, width // heads)
        dtype = torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else ref.dtype
        for i, kv in enumerate(self._memory_kv(cond)):  # the cache in the dtype attention computes in
            state[f"k{i}"] = torch.zeros(shape, dtype=dtype, device=device)
            state[f"v{i}"] = torch.zeros(shape, dtype=dtype, device=device)
            if kv is not None:
                state[f"mk{i}"], state[f"mv{i}"] = kv[0], kv[1]
        return state

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        return self.step_embedded(state, self.embedding(last_tokens))

    def step_embedded(self, state: State, embedded: torch.Tensor) -> Tuple[torch.Tensor, State]:
        """One step from input vectors ``(B, E)`` (token embeddings, or expected embeddings in soft decoding)."""
        if "inputs" in state:  # uncached: the whole prefix again
            inputs = torch.cat([state["inputs"], embedded[:, None]], dim=1)
            h = self._hidden(self._embed(inputs, 0, state), state)[:, -1]
            return self.out(h).float(), {**state, "inputs": inputs}
        static = state["pos"].dim() == 1
        pos = state["pos"] if static else state["k0"].size(2)
        x = self._embed(embedded[:, None], pos, state)
        new = dict(state)
        mask = state.get("memory_mask")
        for i, layer in enumerate(self.layers):
            memory = (state[f"mk{i}"], state[f"mv{i}"], mask) if f"mk{i}" in state else None
            x, (new[f"k{i}"], new[f"v{i}"]) = layer(x, memory, cache=(state[f"k{i}"], state[f"v{i}"]),
                                                    pos=state["pos"] if static else None)
        new["pos"] = state["pos"] + 1
        return self.out(self.norm(x[:, 0])).float(), new

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return {k: v if k == "pos" else v.index_select(0, index) for k, v in state.items()}


def build_decoder(embedding: nn.Embedding, latent_dim: int, config: DecoderConfig, dropout: float) -> Decoder:
    cls = TransformerDecoder if config.type == "transformer" else RNNDecoder
    return cls(embedding, latent_dim, config, dropout)
