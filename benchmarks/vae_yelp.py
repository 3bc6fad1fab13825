"""Sentence-VAE benchmark on Yelp (issue 3): train one recipe within its time budget, then
evaluate it on the test split with the VAE diagnostics and a style probe (logistic regression on
the posterior means of ``--probe`` balanced labelled training sentences, test accuracy; the
few-label protocol of textvae.evaluation.semisupervised with one draw).

    python benchmarks/vae_yelp.py yelp_bnvae [--data ../shared/data/yelp] [--out benchmarks/runs]
        [--samples 100] [--probe 10000] [--threads 1] [--split test|dev] [--eval-only] [key=value ...]

Prints one Markdown row (and writes ROW.json next to the run) for docs/benchmarks.md.
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
from textvae.errors import TextvaeError, run_script
from textvae.evaluation.semisupervised import few_label_accuracy
from textvae.evaluation.vae import vae_diagnostics
from textvae.training import train

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
COLUMNS = ("nll", "ppl", "elbo", "kl", "mi", "total_correlation", "active_units", "recon_bleu", "style_probe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe name, e.g. yelp_bnvae")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "yelp"))
    parser.add_argument("--out", default="benchmarks/runs")
    parser.add_argument("--samples", type=int, default=100, help="importance samples for the NLL")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (two runs can share 2 cores)")
    parser.add_argument("--split", default="test", choices=("test", "dev"),
                        help="evaluation split: tune on dev, report on test")
    parser.add_argument("--name", help="run name (default: the recipe's), for tuning variants")
    parser.add_argument("--probe", type=int, default=10000, help="labelled sentences of the style probe (0: none)")
    parser.add_argument("--eval-only", action="store_true",
                        help="evaluate the run already in OUT/NAME (its result.json gives the steps and speed)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    config = load_recipe(RECIPES / f"{args.recipe}.yaml",
                         [f"data.path={args.data}", f"train.threads={args.threads}", *args.overrides])
    out = Path(args.out) / (args.name or args.recipe)
    if args.eval_only:
        if not (out / "result.json").is_file():
            raise TextvaeError(f"no trained run in {out} (result.json is missing); drop --eval-only to train it")
        result = json.loads((out / "result.json").read_text())
        trained = result["elapsed"]
    else:
        started = time.time()
        result = train(config, out, force=True)
        trained = time.time() - started
    model = textvae.load(out, device="cpu")
    corpus = load_corpus(args.data, splits=("train", args.split))
    texts = corpus.texts(args.split)
    started = time.time()
    diag = vae_diagnostics(model.model, model.tokenizer, texts, torch.device("cpu"), iw_samples=args.samples)
    if args.probe:
        diag["style_probe"] = style_probe(model, corpus, args.split, args.probe)
    row = {"recipe": args.recipe, "overrides": args.overrides, "split": args.split, "steps": result["step"], "train_minutes": trained / 60,
           "sentences_per_second": result["sentences"] / max(result["elapsed"], 1e-9), "eval_minutes": (time.time() - started) / 60,
           "precision": model.stats.get("precision", "float32"),
           **{k: v for k, v in diag.items() if k not in ("samples", "homotopy")},
           "samples": diag.get("samples", [])[:3], "homotopy": diag.get("homotopy", [])}
    (out / "row.json").write_text(json.dumps(row, indent=2) + "\n")
    cells = [f"{row[c]:.2f}" if isinstance(row.get(c), float) else str(row.get(c, "-")) for c in COLUMNS]
    print(f"| {args.recipe} | {row['steps']} | {row['sentences_per_second']:.0f} | " + " | ".join(cells) + " |")


def style_probe(model, corpus, split: str, labels: int) -> float:
    """Test accuracy (%) of a logistic regression on the codes of ``labels`` balanced training sentences."""
    texts = corpus.texts("train")
    result = few_label_accuracy(lambda rows: model.encode([texts[i] for i in rows]).float().numpy(),
                                corpus.labels("train"), model.encode(corpus.texts(split)).float().numpy(),
                                corpus.labels(split), [labels], draws=1)
    return result[labels]["mean"]


if __name__ == "__main__":
    run_script(main)
