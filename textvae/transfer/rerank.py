"""Reranking beam candidates of a transfer by a model of the style, one of the content and one of
fluency, as in noisy-channel reranking (Yee et al. 2019) and the dual rewards of Luo et al.
(2019), at decoding time.

The model provides the first two (``Model.rerank_scorers``: its own style classifier, and how
well a candidate rebuilds its source); fluency is a textvae language model.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import torch

from textvae.data.batching import Batch, collate
from textvae.data.tokenizer import PAD_ID, UNK_ID
from textvae.errors import TextvaeError

Rerank = Callable[[List[List[List[int]]], torch.Tensor, Batch], List[List[List[int]]]]


def check_rerank_weights(weight: float, cycle_weight: float, lm_weight: float, lm) -> bool:
    """Refuse negative (or NaN) rerank weights and LM reranking without an LM; True if any is on."""
    if not (weight >= 0 and cycle_weight >= 0 and lm_weight >= 0):  # also refuses NaN
        raise TextvaeError(f"rerank weights must be 0 (off) or positive, got {weight}, {cycle_weight} and "
                           f"{lm_weight}")
    if lm_weight > 0 and lm is None:
        raise TextvaeError("language-model reranking needs a language model (--lm DIR)")
    return weight > 0 or cycle_weight > 0 or lm_weight > 0


def lm_scorer(tokenizer, lm) -> Callable[[List[List[int]]], torch.Tensor]:
    """Per-token NLL of token-id sequences in ``tokenizer``'s vocabulary under the language model
    ``lm`` (anything with ``sentence_nll(texts)``, e.g. a loaded textvae LM; any tokenizer: the
    candidates go through text)."""
    return lambda ids: lm.sentence_nll([tokenizer.decode(seq) for seq in ids])


def make_reranker(model, tokenizer, target: int, weight: float = 0.0, cycle_weight: float = 0.0,
                  lm_weight: float = 0.0, lm=None) -> Optional[Rerank]:
    """The reranker for transfers of ``model`` into ``target`` with these weights (None: all off)."""
    if not check_rerank_weights(weight, cycle_weight, lm_weight, lm):
        return None
    style_log_prob, rebuild_nll = model.rerank_scorers(target, style=weight > 0, cycle=cycle_weight > 0)
    lm_score = lm_scorer(tokenizer, lm) if lm_weight > 0 else None
    return candidate_reranker(weight, cycle_weight, lm_weight, style_log_prob, rebuild_nll, lm_score)


def candidate_reranker(weight: float, cycle_weight: float, lm_weight: float, style_log_prob: Optional[Callable],
                       rebuild_nll: Optional[Callable], lm_score: Optional[Callable]) -> Rerank:
    """``rerank(ids, scores, sources)``: every source's beam candidates ``ids`` (lists of token
    ids) reordered by beam score + ``weight`` x ``style_log_prob(candidates)`` (the target
    style's log-probability) - ``cycle_weight`` x the per-token NLL of rebuilding the source
    from the candidate (``rebuild_nll(candidates, sources, k)``, summed NLL per candidate) -
    ``lm_weight`` x the candidate's per-token NLL under a language model (``lm_score(ids)``).
    ``candidates`` is the batch of all ``N x k`` candidates, source-major."""

    def rerank(ids: List[List[List[int]]], scores: torch.Tensor, sources: Batch) -> List[List[List[int]]]:
        k = len(ids[0])
        device = sources.src.device
        candidates = collate([seq or [UNK_ID] for row in ids for seq in row]).to(device)
        total = scores.to(device)
        if lm_weight > 0:
            per_token = lm_score([seq for row in ids for seq in row]).to(device)
            total = total - lm_weight * per_token.view(len(ids), k)
        if weight > 0:
            total = total + weight * style_log_prob(candidates).view(len(ids), k)
        if cycle_weight > 0:
            tokens = (sources.tgt_out != PAD_ID).sum(1).repeat_interleave(k)
            per_token = rebuild_nll(candidates, sources, k).float() / tokens
            total = total - cycle_weight * per_token.view(len(ids), k)
        order = total.argsort(dim=-1, descending=True, stable=True).tolist()
        return [[row[j] for j in ranks] for row, ranks in zip(ids, order)]

    return rerank
