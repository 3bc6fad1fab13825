"""Batched transfer for every model that declares ``can_transfer``: the model plans how each
batch is decoded in the target style, :func:`textvae.decoding.decode` decodes it, and a
reranker (:mod:`textvae.transfer.rerank`) may choose among the beam's candidates."""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, List, Sequence, Tuple

import torch

from textvae.data.batching import Batch
from textvae.decoding import DecodeOptions, decode
from textvae.errors import TextvaeError
from textvae.transfer.rerank import Features, candidate_scorer, make_reranker

Batches = Callable[[Sequence[str], int], Iterable[Tuple[List[int], Batch]]]  # (sentences, size) -> batches


def _prepare(model, label_names: Sequence[str], to: str) -> int:
    """The target's index, after the model's own checks (one line each, before any decoding)."""
    if not model.can_transfer:
        model.transfer_plan(None, 0, 1.0)  # the model's one-line reason
    if to not in label_names:
        raise TextvaeError(f"unknown style '{to}'; this model knows: {', '.join(label_names)}")
    target = list(label_names).index(to)
    model.check_target(target, label_names)
    return target


def _decoded(model, sentences: Sequence[str], target: int, batches: Batches, strength: float,
             search: DecodeOptions, pool_strengths: Sequence[float] = ()):
    """``(positions, ids, scores, sources)`` per decoded group: each source's candidates (token ids,
    ``search.n_best`` of them, then as many again decoded at each of ``pool_strengths``), their
    beam scores (None unless beam) and the sources' batch."""
    for indices, batch in batches(list(sentences), search.batch_size):
        max_len = search.max_len or int(batch.lengths.max()) * 2 + 5
        strengths = list(dict.fromkeys((strength, *pool_strengths)))  # each decoded once
        plans = [model.transfer_plan(batch, target, s) for s in strengths]
        for groups in zip(*plans, strict=True):
            rows = groups[0][0]
            if any(not torch.equal(group[0], rows) for group in groups[1:]):
                raise RuntimeError(f"{type(model).__name__}.transfer_plan splits a batch differently per strength; "
                                   "pool_strengths needs the same groups at every strength")
            decoded = [decode(decoder, context, search, max_len=max_len) for _, decoder, context in groups]
            ids = [sum(candidates, []) for candidates in zip(*(d[0] for d in decoded))]
            scores = decoded[0][1] if len(decoded) == 1 else torch.cat([d[1] for d in decoded], dim=1)
            yield [indices[row] for row in rows.tolist()], ids, scores, batch.rows(rows)


def check_pool(model, pool_strengths: Sequence[float], reranked: bool) -> None:
    """Refuse pooled strengths where they cannot act: a model without a strength, or no reranking to
    choose among the pooled candidates."""
    if not pool_strengths:
        return
    if not model.uses_strength:
        raise TextvaeError(f"pool_strengths (--pool-strengths, :pool) decodes candidates at other strengths, and a "
                           f"{type(model).__name__} has no strength setting; set it to none")
    if not reranked:
        raise TextvaeError("pooled candidates (pool_strengths) are for reranking to choose among; use beam search "
                           "with a reranking weight or set pool_strengths to none")


@torch.inference_mode()
def transfer_sentences(model, tokenizer, label_names: Sequence[str], sentences: Sequence[str], to: str,
                       batches: Batches, strength: float = 1.0, rerank: float = 0.0, rerank_cycle: float = 0.0,
                       rerank_lm: float = 0.0, lm=None, scorer=None, pool_strengths: Sequence[float] = (),
                       **options) -> List:
    """``sentences`` rewritten in style ``to`` by ``model``, in input order.

    ``batches(sentences, max_sentences)`` yields ``(positions, batch)`` on the model's device;
    ``strength`` is how far a split-latent model moves the style code (1: to the target mean), or a
    back-translation model's style guidance (1: none; textvae.decoding.guidance);
    ``rerank`` / ``rerank_cycle`` / ``rerank_lm`` > 0 rerank beam candidates by the model's style
    classifier (or the classifier ``scorer``), by how well they rebuild the source, and by the
    language model ``lm`` (anything with ``sentence_nll``), among the beam's candidates and, with
    ``samples``, that many sampled ones per sentence, and with ``pool_strengths`` the beams (and
    samples) decoded at each of those strengths as well (one pool, e.g. plain and guided beams of a
    back-translation model: the union reaches transfers neither strength ranks first); ``options`` are
    :class:`textvae.decoding.DecodeOptions` fields. With ``n_best > 1`` each item is a list of that
    many sentences, best first.
    """
    target = _prepare(model, label_names, to)
    opts = DecodeOptions.from_kwargs(**options)
    reranker = make_reranker(model, tokenizer, target, rerank, rerank_cycle, rerank_lm, lm, scorer,
                             best_only=opts.n_best == 1)
    search = opts
    if reranker is not None:
        if opts.strategy != "beam" or opts.beam_size < 2:
            raise TextvaeError("reranking chooses among beam candidates: use beam search with a beam of 2 or more "
                               "(--strategy beam --beam 5)")
        search = dataclasses.replace(opts, n_best=opts.beam_size)
    check_pool(model, pool_strengths, reranker is not None)
    if opts.samples and reranker is None:
        raise TextvaeError("sampled candidates are for reranking to choose among; set a reranking weight "
                           "(--rerank, --rerank-cycle or --rerank-lm) or drop --samples")
    out: List = [None] * len(sentences)
    for positions, ids, scores, sources in _decoded(model, sentences, target, batches, strength, search,
                                                    pool_strengths):
        if reranker is not None:  # a pool (samples, other strengths) may hold a sentence twice: keep the first
            ids = [[list(seq) for seq in dict.fromkeys(map(tuple, row))] for row in reranker(ids, scores, sources)]
        for position, candidates in zip(positions, ids):
            texts = [tokenizer.decode(seq) for seq in candidates[:opts.n_best]]
            out[position] = texts[0] if opts.n_best == 1 else texts
    return out


@torch.inference_mode()
def transfer_candidates(model, tokenizer, label_names: Sequence[str], sentences: Sequence[str], to: str,
                        batches: Batches, beam_size: int, strength: float = 1.0, style: bool = False,
                        cycle: bool = False, lm=None, scorer=None, pool_strengths: Sequence[float] = (),
                        **options) -> List[Tuple[List[str], torch.Tensor, Features]]:
    """Every sentence's ``beam_size`` beam candidates in style ``to`` (then its ``samples`` sampled
    ones, when that decoding option is given), as ``(texts, beam scores (k,),
    features {name: (k,)})`` in input order, then those decoded at each of ``pool_strengths``, with the
    reranking features asked for (see
    :func:`textvae.transfer.rerank.candidate_scorer`): one decode serves every reranking weight
    (:func:`textvae.transfer.rerank.reranked_scores` of the stacked rows is what
    :func:`transfer_sentences` ranks by)."""
    target = _prepare(model, label_names, to)
    search = DecodeOptions.from_kwargs(**{**options, "strategy": "beam", "beam_size": beam_size, "n_best": beam_size})
    score = candidate_scorer(model, tokenizer, target, style=style, cycle=cycle, lm=lm, scorer=scorer)
    check_pool(model, pool_strengths, True)
    out: List = [None] * len(sentences)
    for positions, ids, scores, sources in _decoded(model, sentences, target, batches, strength, search,
                                                    pool_strengths):
        features = score(ids, sources)
        for row, (position, candidates) in enumerate(zip(positions, ids)):
            out[position] = ([tokenizer.decode(seq) for seq in candidates], scores[row].float().cpu(),
                             {name: value[row].cpu() for name, value in features.items()})
    return out
