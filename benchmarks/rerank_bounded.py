"""Reranked transfer with every candidate rebuilt for the cycle term against the bounded one
(``best_only``, textvae.transfer.rerank.bounded_cycle): seconds, the share of candidates rebuilt,
and whether the chosen transfers are the same. Both in one process, on the same sentences.

    python benchmarks/rerank_bounded.py --model RUN --lm LM --scorer CLF [--sentences 300] \
        [--beam 20] [--rerank 16] [--rerank-cycle 8] [--rerank-lm 5] [--pool-strengths 1.2]

The sentences are a balanced draw of the training split, as ``textvae distill`` makes pairs from.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from textvae.api import load, load_language_model, load_style_scorer
from textvae.cli import pool_list
from textvae.data.corpus import load_corpus
from textvae.transfer import batch as transfer_batch
from textvae.transfer import rerank
from textvae.transfer.distill import balanced_sample
from train_throughput import machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--lm", required=True)
    parser.add_argument("--scorer")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--split", default="train")
    parser.add_argument("--beam", type=int, default=20)
    parser.add_argument("--rerank", type=float, default=16.0)
    parser.add_argument("--rerank-cycle", type=float, default=8.0)
    parser.add_argument("--rerank-lm", type=float, default=5.0)
    parser.add_argument("--pool-strengths", type=pool_list, default=[])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = load(args.model)
    lm = load_language_model(args.lm)
    scorer = load_style_scorer(args.scorer, model.label_names) if args.scorer else None
    corpus = load_corpus(model.config.data.path, splits=(args.split,))
    texts, labels = corpus.texts(args.split), corpus.labels(args.split)
    chosen = balanced_sample(labels, args.sentences, seed=1)
    names = model.label_names
    settings = dict(strength=1.0, strategy="beam", beam_size=args.beam, rerank=args.rerank,
                    rerank_cycle=args.rerank_cycle, rerank_lm=args.rerank_lm, lm=lm, scorer=scorer,
                    pool_strengths=args.pool_strengths)

    rebuilt = []
    real_scorer = rerank.cycle_scorer

    def counting(rebuild_nll):
        nll = real_scorer(rebuild_nll)
        return lambda candidates, sources, rows: rebuilt.append(len(candidates)) or nll(candidates, sources, rows)

    rerank.cycle_scorer = counting
    real_maker = transfer_batch.make_reranker
    results = {}
    for mode in ("every candidate", "bounded"):
        transfer_batch.make_reranker = (real_maker if mode == "bounded" else
                                        lambda *a, **k: real_maker(*a, **{**k, "best_only": False}))
        rebuilt.clear()
        outputs, started = [], time.perf_counter()
        for target in range(len(names)):
            group = [texts[i] for i in chosen if labels[i] != target]
            outputs += model.transfer(group, names[target], **settings)
        results[mode] = {"seconds": round(time.perf_counter() - started, 1), "rebuilt": sum(rebuilt),
                         "outputs": outputs}
    transfer_batch.make_reranker = real_maker
    rerank.cycle_scorer = real_scorer
    every, bounded = results["every candidate"], results["bounded"]
    same = sum(a == b for a, b in zip(every["outputs"], bounded["outputs"]))
    print(json.dumps({
        "machine": machine(), "threads": args.threads,
        "sentences": len(every["outputs"]), "settings": {k: v for k, v in settings.items() if k not in ("lm", "scorer")},
        "every_seconds": every["seconds"], "bounded_seconds": bounded["seconds"],
        "speedup": round(every["seconds"] / bounded["seconds"], 2),
        "rebuilt_share": round(bounded["rebuilt"] / max(1, every["rebuilt"]), 3),
        "same_outputs": f"{same}/{len(every['outputs'])}"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
