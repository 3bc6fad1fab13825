"""Style guidance: decode with a style-conditioned decoder's next-token distribution pushed away
from the other styles' and towards the target's,

    log p_guided(y_t | y_<t) = log p(y_t | target) + w * (log p(y_t | target) - log p(y_t | others))

(renormalised by the search), where ``log p(y_t | others)`` is the mean over the other styles.
This is classifier-free guidance (Ho and Salimans 2022) read as a product of experts, applied to
language models by Sanchez et al. 2023 ("Stay on topic with classifier-free guidance"); contrastive
decoding (Li et al. 2023) takes the same difference against a weaker model. For style transfer it
gives a strength knob to any model whose decoder is told the style, with no retraining: ``w = 0``
is plain decoding in the target style, ``w = -1`` the other style, ``w > 0`` beyond the target.

:class:`GuidedDecoder` keeps the decoder protocol (``initial_state``/``step``/``select``), so
greedy, beam and sampling drive it unchanged; each step runs the decoder once per style (for two
styles, twice the decoding cost).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple, Union

import torch

Context = Union[torch.Tensor, Dict[str, torch.Tensor]]
State = Dict[str, torch.Tensor]
_SEP = "/"


def _flatten(prefix: str, context: Context) -> Dict[str, torch.Tensor]:
    if isinstance(context, dict):
        return {f"{prefix}{_SEP}{k}": v for k, v in context.items()}
    return {prefix: context}


def _split(packed: Dict[str, torch.Tensor], parts: int) -> List[Context]:
    """The contexts (or states) :func:`_flatten` packed under ``"0"``, ``"1"``, ..."""
    out: List[Context] = []
    for i in range(parts):
        key = str(i)
        if key in packed:  # a tensor context
            out.append(packed[key])
        else:
            head = key + _SEP
            out.append({k[len(head):]: v for k, v in packed.items() if k.startswith(head)})
    return out


class GuidedDecoder:
    """``decoder`` guided by ``weight`` (``w`` above) towards the first of the contexts that
    :meth:`pack` puts together, away from the rest (the other styles)."""

    static_steps = False  # two states in one dict: no captured CUDA graph

    def __init__(self, decoder, weight: float, others: int):
        if others < 1:
            raise ValueError("guidance needs at least one other style")
        self.decoder, self.weight, self.parts = decoder, float(weight), others + 1
        self.max_length = getattr(decoder, "max_length", None)

    @staticmethod
    def pack(target: Context, others: Sequence[Context]) -> Dict[str, torch.Tensor]:
        """One batch-first dict (what :func:`textvae.decoding.decode` chunks by rows) of the
        target's context and the other styles'."""
        packed: Dict[str, torch.Tensor] = {}
        for i, context in enumerate([target, *others]):
            packed.update(_flatten(str(i), context))
        return packed

    def initial_state(self, codes: Dict[str, torch.Tensor], cache: bool = True, static: bool = False) -> State:
        states = [self.decoder.initial_state(context, cache=cache) for context in _split(codes, self.parts)]
        return self._merge(states)

    def _merge(self, states: Sequence[State]) -> State:
        merged: State = {}
        for i, state in enumerate(states):
            merged.update(_flatten(str(i), state))
        return merged

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        outputs = [self.decoder.step(part, last_tokens) for part in _split(state, self.parts)]
        # floored, so that a token one style rules out (-inf) cannot make inf - inf
        log_probs = [torch.log_softmax(logits.float(), dim=-1).clamp_min(-1e4) for logits, _ in outputs]
        target, others = log_probs[0], torch.stack(log_probs[1:]).mean(0)
        return target + self.weight * (target - others), self._merge([new for _, new in outputs])

    def select(self, state: State, index: torch.Tensor) -> State:
        return self._merge([self.decoder.select(part, index) for part in _split(state, self.parts)])
