"""Reranking beam candidates of a transfer by a model of the style, one of the content and one of
fluency, as in noisy-channel reranking (Yee et al. 2019) and the dual rewards of Luo et al.
(2019), at decoding time.

The candidates are a beam's, and optionally sampled ones next to them (``samples``; the
sample-and-rerank of Suzgun, Melas-Kyriazi and Jurafsky 2022, "Prompt-and-rerank").

The model provides the first two (``Model.rerank_scorers``: its own style classifier, and how
well a candidate rebuilds its source); fluency is a textvae language model. The style model may
instead be a classifier trained on its own (a *scorer*, ``model.type: classifier``): a transfer
model learns to please the classifier trained next to it, so reranking by that one prefers
candidates that fool it, which a classifier the generator never saw does not reward.

Choosing only the best candidate (``best_only``, what a plain transfer needs) skips most of the
cycle term, the dearest of the three (a decoder pass over the source with the full vocabulary
projection per candidate): the rebuild NLL is never negative, so a candidate's beam score, style
and LM terms bound its total from above, and a candidate whose bound is below the best total found
so far cannot win. The candidates are rebuilt best bound first, a few per source at a time, until
no bound beats the best total (branch and bound; the winner is the same as with every candidate
rebuilt).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

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


CANDIDATE_CHUNK = 1024  # candidates scored at once: 1,024 x 40 tokens x a 12k vocabulary is about 2 GB of logits
FEATURES = ("style", "cycle", "lm")  # what a candidate is scored by, besides its beam score
Features = Dict[str, torch.Tensor]  # feature -> (N, k): style log-prob, per-token rebuild NLL, per-token LM NLL


def scorer_log_prob(tokenizer, scorer, target: int) -> Callable[[List[List[int]]], torch.Tensor]:
    """Log-probability of style ``target`` for token-id sequences in ``tokenizer``'s vocabulary under
    the classifier ``scorer`` (a loaded textvae classifier; any tokenizer: the candidates go through
    text)."""
    def log_prob(ids: List[List[int]]) -> torch.Tensor:
        probs = scorer.label_probabilities([tokenizer.decode(seq) for seq in ids])[:, target]
        return probs.clamp_min(1e-6).log()

    return log_prob


def candidate_scorer(model, tokenizer, target: int, style: bool = False, cycle: bool = False,
                     lm=None, scorer=None) -> Callable[[List[List[List[int]]], Batch], Features]:
    """``score(ids, sources)``: the features of every source's beam candidates ``ids`` (lists of
    token ids): ``style``, the target style's log-probability under the model's own classifier (or
    under ``scorer``, a loaded classifier, when given);
    ``cycle``, the per-token NLL of rebuilding the source from the candidate; ``lm``, the
    candidate's per-token NLL under the language model ``lm`` (anything with ``sentence_nll``).
    Only the features asked for are computed; a model that cannot give one says why."""
    own_style = style and scorer is None
    style_log_prob, rebuild = model.rerank_scorers(target, style=own_style, cycle=cycle) if own_style or cycle \
        else (None, None)
    style_log_prob, rebuild_nll = (style_log_prob if own_style else None), (cycle_scorer(rebuild) if cycle else None)
    lm_score = lm_scorer(tokenizer, lm) if lm is not None else None
    external_style = scorer_log_prob(tokenizer, scorer, target) if style and scorer is not None else None

    def score(ids: List[List[List[int]]], sources: Batch) -> Features:
        n, k = len(ids), len(ids[0])
        rows = max(1, CANDIDATE_CHUNK // k)  # sources per chunk: the rebuild's logits grow with n * k
        if n <= rows:
            return score_chunk(ids, sources)
        parts = [score_chunk(ids[i:i + rows], sources.rows(torch.arange(i, min(n, i + rows))))
                 for i in range(0, n, rows)]
        return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}

    def score_chunk(ids: List[List[List[int]]], sources: Batch) -> Features:
        n, k = len(ids), len(ids[0])
        device = sources.src.device
        flat = [seq for row in ids for seq in row]
        out: Features = {}
        if lm_score is not None:
            out["lm"] = lm_score(flat).to(device).float().view(n, k)
        if external_style is not None:
            out["style"] = external_style(flat).to(device).float().view(n, k)
        if style_log_prob is not None:
            out["style"] = style_log_prob(collate([seq or [UNK_ID] for seq in flat]).to(device)).float().view(n, k)
        if rebuild_nll is not None:
            out["cycle"] = rebuild_nll(flat, sources, torch.arange(n).repeat_interleave(k)).view(n, k)
        return out

    return score


def cycle_scorer(rebuild_nll) -> Callable[[List[List[int]], Batch, torch.Tensor], torch.Tensor]:
    """``nll(candidates, sources, rows)``: the per-token NLL of rebuilding source ``rows[i]`` of the
    batch ``sources`` from ``candidates[i]`` (token ids), with a model's ``rebuild_nll`` (see
    ``Model.rerank_scorers``)."""
    def nll(candidates: List[List[int]], sources: Batch, rows: torch.Tensor) -> torch.Tensor:
        device = sources.src.device
        picked = sources.rows(rows)
        tokens = (picked.tgt_out != PAD_ID).sum(1)
        batch = collate([seq or [UNK_ID] for seq in candidates]).to(device)
        return rebuild_nll(batch, picked, 1).float() / tokens

    return nll


def bounded_cycle(ids: List[List[List[int]]], bound: torch.Tensor, cycle_weight: float, nll, sources: Batch,
                  per_round: int = 4) -> torch.Tensor:
    """The per-token rebuild NLL (``nll``, a :func:`cycle_scorer`) of the candidates ``ids`` that
    could still rank first, ``inf`` for the others: ``bound`` (N, k) is each candidate's total
    without the cycle term, an upper bound of its total since the NLL is never negative. Each round
    rebuilds, per source, the ``per_round`` unscored candidates of best bound among those whose
    bound is not below the best total found so far; it stops when no such candidate is left."""
    n, k = bound.shape
    cycle = torch.full((n, k), float("inf"), device=bound.device)
    scored = torch.zeros(n, k, dtype=torch.bool, device=bound.device)
    while True:
        best = torch.where(scored, bound - cycle_weight * cycle, torch.full_like(bound, float("-inf"))).amax(1)
        open_ = ~scored & (bound >= best.unsqueeze(1)) & (bound > float("-inf"))
        if not open_.any():
            return cycle
        top = bound.masked_fill(~open_, float("-inf")).topk(min(per_round, k), dim=1)
        rows, cols = (top.values > float("-inf")).nonzero(as_tuple=True)
        cols = top.indices[rows, cols]
        for start in range(0, len(rows), CANDIDATE_CHUNK):
            r, c = rows[start:start + CANDIDATE_CHUNK], cols[start:start + CANDIDATE_CHUNK]
            cycle[r, c] = nll([ids[i][j] for i, j in zip(r.tolist(), c.tolist())], sources, r).to(cycle.device)
        scored[rows, cols] = True


def reranked_scores(scores: torch.Tensor, features: Features, weight: float = 0.0, cycle_weight: float = 0.0,
                    lm_weight: float = 0.0) -> torch.Tensor:
    """Beam score + ``weight`` x style log-prob - ``cycle_weight`` x rebuild NLL - ``lm_weight`` x
    LM NLL, per candidate ``(N, k)`` (a feature with weight 0 may be absent)."""
    total = scores.to(next(iter(features.values())).device if features else scores.device).float()
    if weight > 0:
        total = total + weight * features["style"]
    if cycle_weight > 0:
        total = total - cycle_weight * features["cycle"]
    if lm_weight > 0:
        total = total - lm_weight * features["lm"]
    return total


def ranking(total: torch.Tensor) -> torch.Tensor:
    """Each row's candidate positions, best ``total`` first (ties keep the beam's order)."""
    return total.argsort(dim=-1, descending=True, stable=True)


def reorder(ids: List[List[List[int]]], total: torch.Tensor) -> List[List[List[int]]]:
    """Every source's candidates, best ``total`` first (ties keep the beam's order)."""
    order = ranking(total).tolist()
    return [[row[j] for j in ranks] for row, ranks in zip(ids, order)]


def make_reranker(model, tokenizer, target: int, weight: float = 0.0, cycle_weight: float = 0.0,
                  lm_weight: float = 0.0, lm=None, scorer=None, best_only: bool = False) -> Optional[Rerank]:
    """``rerank(ids, scores, sources)`` for transfers of ``model`` into ``target``: every source's
    beam candidates reordered by :func:`reranked_scores` with these weights (None: all off).
    ``best_only``: only the first candidate is wanted, so the cycle term is computed only for the
    candidates that could rank first (:func:`bounded_cycle`; the first is the same, the order of the
    rest is not the full ranking's)."""
    if not check_rerank_weights(weight, cycle_weight, lm_weight, lm):
        return None
    bounded = best_only and cycle_weight > 0
    score = candidate_scorer(model, tokenizer, target, style=weight > 0, cycle=cycle_weight > 0 and not bounded,
                             lm=lm if lm_weight > 0 else None, scorer=scorer)
    nll = cycle_scorer(model.rerank_scorers(target, style=False, cycle=True)[1]) if bounded else None

    def rerank(ids: List[List[List[int]]], scores: torch.Tensor, sources: Batch) -> List[List[List[int]]]:
        if not bounded:
            return reorder(ids, reranked_scores(scores, score(ids, sources), weight, cycle_weight, lm_weight))
        bound = reranked_scores(scores, score(ids, sources), weight, 0.0, lm_weight)
        return reorder(ids, bound - cycle_weight * bounded_cycle(ids, bound, cycle_weight, nll, sources))

    return rerank
