"""Style-transfer benchmark for back-translation models (issue 7): train a recipe within its budget
(resumable across sessions), transfer the test split, score it with the evaluation suite, and plot
the dev training curve (judge accuracy and self-BLEU against time).

    python benchmarks/transfer_model.py yelp_ibt_transformer [--data DIR] [--out benchmarks/runs]
        [--threads 2] [--resume] [key=value ...]

Prints one Markdown row; writes ROW.json, the transfers (transfer.test.0/1) and curve.png next to
the run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import textvae
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.evaluation.transfer import TransferEvaluator, score_model
from textvae.io import atomic_write_text
from textvae.reports.plots import training_curve
from textvae.training import train

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--data", default=None, help="corpus directory (default: the recipe's)")
    parser.add_argument("--out", default="benchmarks/runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="continue a run that was stopped")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    overrides = [f"train.threads={args.threads}"] + ([f"data.path={args.data}"] if args.data else []) + args.overrides
    config = load_recipe(RECIPES / f"{args.recipe}.yaml", overrides)
    out = Path(args.out) / args.recipe
    started = time.time()
    result = train(config, out, resume=args.resume, force=not args.resume)
    model = textvae.load(out, device="cpu")
    corpus = load_corpus(config.data.path)
    evaluator = TransferEvaluator(corpus)
    scores = score_model(model, evaluator, "test", save_to=out)
    training_curve(out / "metrics.jsonl", out / "curve.png")
    overall = scores["directions"]["overall"]
    row = {"recipe": args.recipe, "steps": result["step"], "minutes": result["elapsed"] / 60,
           "wall_minutes": (time.time() - started) / 60, "overall": overall, "scores": scores}
    atomic_write_text(out / "row.json", json.dumps(row, indent=2) + "\n")
    print(f"| {args.recipe} | {result['step']} | {100 * overall['accuracy']:.1f} | {overall['self_bleu']:.1f} | "
          f"{overall['similarity']:.3f} | {overall['ppl']:.1f} | {overall['source_ppl']:.1f} | "
          f"{overall['ppl'] / overall['source_ppl']:.2f} |")


if __name__ == "__main__":
    main()
