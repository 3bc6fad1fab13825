"""Tune transfer-time settings on dev (issue 6/7): judge accuracy and self-BLEU of dev transfers
for each setting, e.g. the style strength of a split-latent model or the decoding strategy.

    python benchmarks/transfer_sweep.py RUN_DIR [--strength 1,1.5,2] [--beam 0,5] [--rerank 0,0.5,1]
        [--sentences 1000]

(``--rerank`` weights apply to beam sizes of 2 or more; see ``textvae transfer --rerank``.)

Uses the same fixed dev sample and cached judge as the training curve (textvae.evaluation.
transfer_dev); report the chosen setting's test scores with the evaluation suite.
"""

from __future__ import annotations

import argparse
import time

import textvae
from textvae.data.corpus import load_corpus
from textvae.evaluation.transfer_dev import transfer_evaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--strength", default="1")
    parser.add_argument("--beam", default="0", help="beam sizes; 0 is greedy")
    parser.add_argument("--rerank", default="0", help="classifier reranking weights (back-translation models)")
    parser.add_argument("--sentences", type=int, default=1000)
    args = parser.parse_args()
    model = textvae.load(args.run, device="cpu")
    corpus = load_corpus(model.config.data.path)
    evaluate = transfer_evaluator(corpus, model.tokenizer, model.config, model.device, args.sentences)
    print("| strength | decoding | rerank | dev acc | dev self-BLEU | seconds |")
    print("|---:|---|---:|---:|---:|---:|")
    for beam in [int(b) for b in args.beam.split(",")]:
        decoding = {"strategy": "beam", "beam_size": beam} if beam > 1 else {}
        for rerank in [float(w) for w in args.rerank.split(",")] if beam > 1 else [0.0]:
            for strength in [float(s) for s in args.strength.split(",")]:
                started = time.time()
                scores = evaluate(model.model, strength=strength, **decoding, **({"rerank": rerank} if rerank else {}))
                print(f"| {strength:g} | {'beam %d' % beam if beam > 1 else 'greedy'} | {rerank:g} | "
                      f"{100 * scores['transfer_acc']:.1f} | {scores['transfer_self_bleu']:.1f} | "
                      f"{time.time() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
