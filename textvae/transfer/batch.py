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
from textvae.transfer.rerank import make_reranker

Batches = Callable[[Sequence[str], int], Iterable[Tuple[List[int], Batch]]]  # (sentences, size) -> batches


@torch.inference_mode()
def transfer_sentences(model, tokenizer, label_names: Sequence[str], sentences: Sequence[str], to: str,
                       batches: Batches, strength: float = 1.0, rerank: float = 0.0, rerank_cycle: float = 0.0,
                       rerank_lm: float = 0.0, lm=None, **options) -> List:
    """``sentences`` rewritten in style ``to`` by ``model``, in input order.

    ``batches(sentences, max_sentences)`` yields ``(positions, batch)`` on the model's device;
    ``strength`` is how far a split-latent model moves the style code (1: to the target mean);
    ``rerank`` / ``rerank_cycle`` / ``rerank_lm`` > 0 rerank beam candidates by the model's style
    classifier, by how well they rebuild the source, and by the language model ``lm`` (anything
    with ``sentence_nll``); ``options`` are :class:`textvae.decoding.DecodeOptions` fields. With
    ``n_best > 1`` each item is a list of that many sentences, best first.
    """
    if not model.can_transfer:
        model.transfer_plan(None, 0, strength)  # the model's one-line reason
    if to not in label_names:
        raise TextvaeError(f"unknown style '{to}'; this model knows: {', '.join(label_names)}")
    target = list(label_names).index(to)
    model.check_target(target, label_names)
    opts = DecodeOptions.from_kwargs(**options)
    reranker = make_reranker(model, tokenizer, target, rerank, rerank_cycle, rerank_lm, lm)
    search = opts
    if reranker is not None:
        if opts.strategy != "beam" or opts.beam_size < 2:
            raise TextvaeError("reranking chooses among beam candidates: use beam search with a beam of 2 or more "
                               "(--strategy beam --beam 5)")
        search = dataclasses.replace(opts, n_best=opts.beam_size)
    out: List = [None] * len(sentences)
    for indices, batch in batches(list(sentences), opts.batch_size):
        max_len = opts.max_len or int(batch.lengths.max()) * 2 + 5
        for rows, decoder, context in model.transfer_plan(batch, target, strength):
            ids, scores = decode(decoder, context, search, max_len=max_len)
            if reranker is not None:
                ids = reranker(ids, scores, batch.rows(rows))
            for position, row in enumerate(rows.tolist()):
                texts = [tokenizer.decode(seq) for seq in ids[position][:opts.n_best]]
                out[indices[row]] = texts[0] if opts.n_best == 1 else texts
    return out

