"""Style-transfer benchmark for back-translation models (issue 7): train a recipe within its budget
(resumable across sessions), transfer the test split, score it with the evaluation suite, and plot
the dev training curve (judge accuracy and self-BLEU against time).

    python benchmarks/transfer_model.py yelp_ibt_transformer [--data DIR] [--out benchmarks/runs]
        [--threads 2] [--resume] [--beam 0] [--rerank 0] [--rerank-cycle 0] [--eval-only]
        [--method traverse --steps 50 --step-size 0.1] [--name RUN] [--scorer DIR]
        [--samples 0 --top-p 1] [key=value ...]

``--beam``, ``--rerank``, ``--rerank-cycle`` and ``--samples`` (sampled candidates reranked with the beam's) set how the test split is transferred (tune them on dev with
``textvae tune --model RUN --no-write``, or ``--tuned`` for what it saved); ``--eval-only`` scores an existing run without training.
Prints one Markdown row; writes row-SETTING.json, the transfers (transfer.test.0/1) and curve.png next to
the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import textvae
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.transfer import TransferEvaluator, score_model
from textvae.modeldir import record_evaluation
from textvae.reports.plots import training_curve
from textvae.training import train  # trains the evaluation's fluency LM the first time

from transfer_common import add_transfer_arguments, save_row, train_or_reuse, transfer_options

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--name", help="the run's directory under --out (default: the recipe's name)")
    add_transfer_arguments(parser)
    args = parser.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    overrides = [f"train.threads={args.threads}"] + ([f"data.path={args.data}"] if args.data else []) + args.overrides
    config = load_recipe(RECIPES / f"{args.recipe}.yaml", overrides)
    out = Path(args.out) / (args.name or args.recipe)
    result, _ = train_or_reuse(config, out, args)
    model = textvae.load(out, device="cpu")
    corpus = load_corpus(config.data.path)
    evaluator = TransferEvaluator(corpus, train_lm=train)
    options, setting, tag = transfer_options(args)
    scores = score_model(model, evaluator, "test", save_to=out, method=args.method, **options)
    if model.model.can_transfer:  # the dev transfer curve (models without their own transfer have none)
        training_curve(out / "metrics.jsonl", out / "curve.png")
    overall = scores["directions"]["overall"]
    record_evaluation(model.path, "transfer", "test", {k: overall[k] for k in ("accuracy", "self_bleu", "similarity", "ppl")},
                      setting=setting, corpus=corpus.source)
    row = {"recipe": args.recipe, "steps": result["step"], "minutes": result["elapsed"] / 60, "transfer": setting,
           "overall": overall, "scores": scores}
    save_row(out, tag, row, [args.recipe, str(result["step"]), setting, f"{100 * overall['accuracy']:.1f}",
                             f"{overall['self_bleu']:.1f}", f"{overall['similarity']:.3f}", f"{overall['ppl']:.1f}",
                             f"{overall['source_ppl']:.1f}", f"{overall['ppl'] / overall['source_ppl']:.2f}",
                             f"{overall['ngram_ppl'] / overall['source_ngram_ppl']:.2f}"])

if __name__ == "__main__":
    run_script(main)
