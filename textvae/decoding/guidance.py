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
greedy, beam and sampling drive it unchanged. Each step runs the decoder once on the rows of every
style stacked into one batch (for two styles, twice the rows: one call, not two).
"""

from __future__ import annotations

from typing import Callable, Dict, Sequence, Tuple, Union

import torch

Context = Union[torch.Tensor, Dict[str, torch.Tensor]]
State = Tuple[object, int]  # (the decoder's state over styles x rows, the rows)


def _styles_first(x: torch.Tensor) -> torch.Tensor:
    """``(N, P, ...)`` -> ``(P * N, ...)``: the P styles' rows one after another."""
    return x.transpose(0, 1).reshape(-1, *x.shape[2:])


class GuidedDecoder:
    """``decoder`` guided by ``weight`` (``w`` above) towards the first of the contexts that
    :meth:`pack` puts together, away from the rest (the other styles)."""

    static_steps = False  # the state is not the decoder's own: no captured CUDA graph

    def __init__(self, decoder, weight: float, others: int):
        if others < 1:
            raise ValueError("guidance needs at least one other style")
        self.decoder, self.weight, self.parts = decoder, float(weight), others + 1
        self.max_length = getattr(decoder, "max_length", None)

    @staticmethod
    def pack(target: Context, others: Sequence[Context]) -> Context:
        """The target's context and the other styles' as one batch-first context, each tensor
        ``(N, styles, ...)`` (so that :func:`textvae.decoding.decode` can split it by rows)."""
        contexts = [target, *others]
        if isinstance(target, dict):
            return {k: torch.stack([c[k] for c in contexts], 1) for k in target}
        return torch.stack(contexts, 1)

    def initial_state(self, codes: Context, cache: bool = True, static: bool = False) -> State:
        if isinstance(codes, dict):
            rows = next(iter(codes.values())).size(0)
            context = {k: _styles_first(v) for k, v in codes.items()}
        else:
            rows, context = codes.size(0), _styles_first(codes)
        return self.decoder.initial_state(context, cache=cache), rows

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        inner, rows = state
        logits, inner = self.decoder.step(inner, last_tokens.repeat(self.parts))
        log_probs = torch.log_softmax(logits.float(), dim=-1).view(self.parts, rows, -1)
        target, others = log_probs[0], log_probs[1:].mean(0)
        # a token the target style rules out stays out; one only the others rule out is not a sure pick
        guided = target + self.weight * (target - others.clamp_min(-1e4))
        return guided.masked_fill(target.isneginf(), float("-inf")), (inner, rows)

    def select(self, state: State, index: torch.Tensor) -> State:
        inner, rows = state
        every_style = torch.cat([index + part * rows for part in range(self.parts)])
        return self.decoder.select(inner, every_style), index.numel()


def guided(decoder, context_of: Callable[[int], Context], target: int, styles: int,
           strength: float) -> Tuple[object, Context]:
    """What a model's ``transfer_plan`` decodes with for ``strength``: ``decoder`` and the target
    style's context at 1, else a guided decoder (weight ``strength - 1``) and every style's context
    packed. The guided decoders of a decoder are kept with it (the latest few settings; a compiled
    step stays with each; kept on the decoder, not in a table keyed by it, which they would keep alive)."""
    if strength == 1.0:
        return decoder, context_of(target)
    others = [context_of(style) for style in range(styles) if style != target]
    kept = decoder.__dict__.setdefault("_guided", {})
    key = (strength - 1.0, len(others))
    if key not in kept and len(kept) >= 4:  # a slider's many settings
        kept.pop(next(iter(kept)))
    guide = kept.setdefault(key, GuidedDecoder(decoder, *key))
    return guide, GuidedDecoder.pack(context_of(target), others)
