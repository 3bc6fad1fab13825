"""The CUDA fast path for decoding: autocast, CUDA graphs and pinned host copies.

On a GPU a decoding step of a small model is dominated by kernel-launch overhead, not
arithmetic. The fast path therefore (1) runs the step under bf16/fp16 autocast, (2) decodes at a
fixed batch shape (finished rows are masked, not dropped; Transformer caches use a position
tensor) so that one step can be captured once as a CUDA graph and replayed with a single launch
(Nvidia's CUDA Graphs; the same mechanism as ``torch.compile(mode="reduce-overhead")``), and
(3) moves codes in and tokens out through pinned memory without blocking. Each part has its own
switch in :class:`textvae.decoding.DecodeOptions`. Nothing here runs on CPU except the
fixed-shape loop itself, which CPU tests use to check it against the ordinary one.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Callable, Dict, Tuple

import torch

from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID

State = Dict[str, torch.Tensor]


def autocast(device: torch.device, amp: str, graphs: bool = False):
    """``amp``: ``auto`` (bf16 on CUDA when supported, else fp16; off on CPU), ``bf16``, ``fp16`` or ``none``.

    With ``graphs`` the weight-cast cache is off: a captured graph must cast the weights itself
    rather than read cached copies that autocast frees when its block exits.
    """
    if amp == "none" or (amp == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    if amp == "auto":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    return torch.autocast(device.type, dtype=dtype, cache_enabled=not graphs)


def to_device(tensor: torch.Tensor, device: torch.device, pin: bool) -> torch.Tensor:
    if device.type == "cuda" and pin and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def to_host(tensor: torch.Tensor, pin: bool) -> torch.Tensor:
    if tensor.device.type == "cuda" and pin:
        host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
        host.copy_(tensor, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return host
    return tensor.cpu()


class GraphedStep:
    """A decoder step captured as a CUDA graph for one batch shape.

    The state lives in static buffers that each replay updates in place; ``reset(state)``
    copies a new batch's initial state in, ``__call__(last_tokens)`` runs one step.
    """

    def __init__(self, step: Callable[[State, torch.Tensor], Tuple[torch.Tensor, State]], state: State,
                 batch_size: int, device: torch.device):
        self.state = {k: v.clone() for k, v in state.items()}
        self.last = torch.full((batch_size,), BOS_ID, dtype=torch.long, device=device)
        initial = {k: v.clone() for k, v in state.items()}
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up (lazy init, autotuning) off the capture
            for _ in range(2):
                self._step_in_place(step)
        torch.cuda.current_stream().wait_stream(stream)
        self.reset(initial)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.log_probs = self._step_in_place(step)
        self.reset(initial)

    def _step_in_place(self, step) -> torch.Tensor:
        log_probs, new = step(self.state, self.last)
        for key, value in new.items():
            if value is not self.state[key]:
                self.state[key].copy_(value)
        return log_probs

    def reset(self, state: State) -> None:
        for key, value in state.items():
            self.state[key].copy_(value)

    def __call__(self, last_tokens: torch.Tensor) -> torch.Tensor:
        self.last.copy_(last_tokens)
        self.graph.replay()
        return self.log_probs


def static_decode(step_fn: Callable[[torch.Tensor], torch.Tensor], batch_size: int, max_len: int,
                  device: torch.device, choose: Callable[[torch.Tensor], torch.Tensor],
                  check_every: int = 8) -> torch.Tensor:
    """Row-wise decoding at a fixed batch shape: finished rows keep running but emit PAD.

    ``step_fn(last_tokens) -> log_probs`` owns its state (e.g. a :class:`GraphedStep`);
    whether every row has finished is checked every ``check_every`` steps, to avoid a
    device-to-host synchronisation per token.
    """
    out = torch.full((batch_size, max_len), PAD_ID, dtype=torch.long, device=device)
    last = torch.full((batch_size,), BOS_ID, dtype=torch.long, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    for t in range(max_len):
        log_probs = step_fn(last).clone()
        log_probs[:, PAD_ID] = float("-inf")
        log_probs[:, BOS_ID] = float("-inf")
        token = choose(log_probs).masked_fill(finished, PAD_ID)
        out[:, t] = token
        finished |= token == EOS_ID
        last = token.masked_fill(finished, EOS_ID)  # any valid id: the rows are ignored
        if (t + 1) % check_every == 0 and bool(finished.all()):
            break
    return out


MAX_GRAPHS = 4  # each captured graph keeps its own memory pool and state buffers


def graphable(decoder) -> bool:
    """Whether ``decoder.step`` keeps the shape of every state tensor from one step to the next
    (with ``initial_state(..., static=True)``) and of the state itself from batch to batch, so
    that one captured graph serves all steps: decoders say so with ``static_steps = True``."""
    return bool(decoder.static_steps)


_GRAPHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # decoder -> its captured graphs


def graph_cache(decoder) -> Dict:
    """Captured graphs live as long as their decoder, keyed by batch size, autocast dtype and state
    shapes (the oldest is dropped beyond :data:`MAX_GRAPHS`)."""
    return _GRAPHS.setdefault(decoder, {})


def graphed_step(decoder, state: State, batch_size: int, device: torch.device) -> GraphedStep:
    key = (batch_size, str(torch.get_autocast_dtype("cuda")), torch.is_autocast_enabled("cuda"),
           tuple((k, tuple(v.shape), v.dtype) for k, v in sorted(state.items())))
    graphs = graph_cache(decoder)
    if key not in graphs:
        while len(graphs) >= MAX_GRAPHS:
            graphs.pop(next(iter(graphs)))
        graphs[key] = GraphedStep(decoder.step, state, batch_size, device)
    graph = graphs[key]
    graph.reset(state)
    return graph
