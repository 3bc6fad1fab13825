"""Tune transfer-time settings on dev (issue 6/7): judge accuracy and self-BLEU of dev transfers
for each setting, e.g. the style strength of a split-latent model or the decoding strategy.

    python benchmarks/transfer_sweep.py RUN_DIR [--strength 1,1.5,2] [--beam 0,5] [--rerank 0,0.5,1]
        [--cycle 0,1] [--lm-weight 0,1 --lm LM_DIR] [--fluency] [--sentences 1000] [--json FILE]

(``--rerank``, ``--cycle`` and ``--lm-weight`` weights apply to beam sizes of 2 or more; see
``textvae transfer --rerank --rerank-cycle --rerank-lm``. ``--fluency`` adds the dev outputs'
perplexity over the sources' under the evaluation suite's fluency LM. ``--json`` also writes the rows
to FILE, rewritten after every setting, for benchmarks/plot_tradeoff.py.)

Uses the same fixed dev sample and cached judge as the training curve (textvae.evaluation.
transfer_dev); report the chosen setting's test scores with the evaluation suite.
"""

from __future__ import annotations

import argparse
import json
import time

import textvae
from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.transfer_dev import transfer_evaluator
from textvae.io import atomic_write_text
from textvae.runtime import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--strength", default="1")
    parser.add_argument("--beam", default="0", help="beam sizes; 0 is greedy")
    parser.add_argument("--rerank", default="0", help="style-classifier reranking weights (back-translation and split-latent models)")
    parser.add_argument("--cycle", default="0", help="cycle (rebuild the source) reranking weights")
    parser.add_argument("--lm-weight", default="0", help="language-model reranking weights (with --lm)")
    parser.add_argument("--lm", help="the language model for --lm-weight (a textvae LM directory)")
    parser.add_argument("--fluency", action="store_true", help="also the dev outputs' perplexity ratio")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    keep_freed_memory()  # as the textvae command does
    model = textvae.load(args.run, device="cpu")
    lm = textvae.load(args.lm, device="cpu") if args.lm else None
    corpus = load_corpus(model.config.data.path)
    fluency_lm = None
    if args.fluency:
        from textvae.evaluation.fluency import cached_corpus_lm
        from textvae.training import train

        fluency_lm = cached_corpus_lm(corpus, train=train)[0]
    evaluate = transfer_evaluator(corpus, model.tokenizer, model.config, model.device, args.sentences, fluency_lm)
    rows = []
    print("| strength | decoding | rerank | cycle | LM | dev acc | dev self-BLEU |"
          + (" dev PPL ratio |" if args.fluency else "") + " seconds |")
    print("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if args.fluency else "") + "---:|")
    for beam in [int(b) for b in args.beam.split(",")]:
        decoding = {"strategy": "beam", "beam_size": beam} if beam > 1 else {}
        weights = [(float(r), float(c), float(w)) for r in args.rerank.split(",") for c in args.cycle.split(",")
                   for w in args.lm_weight.split(",")]
        for rerank, cycle, lm_weight in weights if beam > 1 else [(0.0, 0.0, 0.0)]:
            for strength in [float(s) for s in args.strength.split(",")]:
                started = time.time()
                reranking = {key: value for key, value in (("rerank", rerank), ("rerank_cycle", cycle),
                                                           ("rerank_lm", lm_weight)) if value}
                if lm_weight:
                    reranking["lm"] = lm
                scores = evaluate(model.model, strength=strength, **decoding, **reranking)
                fluency = f" {scores['transfer_ppl_ratio']:.2f} |" if args.fluency else ""
                print(f"| {strength:g} | {'beam %d' % beam if beam > 1 else 'greedy'} | {rerank:g} | {cycle:g} | "
                      f"{lm_weight:g} | {100 * scores['transfer_acc']:.1f} | {scores['transfer_self_bleu']:.1f} |"
                      f"{fluency} {time.time() - started:.0f} |", flush=True)
                rows.append({"run": args.run, "strength": strength, "beam": beam, "rerank": rerank, "cycle": cycle,
                             "lm_weight": lm_weight, "sentences": args.sentences,
                             "accuracy": 100 * scores["transfer_acc"], "self_bleu": scores["transfer_self_bleu"],
                             **({"ppl_ratio": scores["transfer_ppl_ratio"]} if args.fluency else {})})
                if args.json:
                    atomic_write_text(args.json, json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    run_script(main)
