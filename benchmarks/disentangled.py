"""Disentangled style transfer benchmark (issue 6): train one recipe / ablation row, transfer the
test split with it and score the transfers with the evaluation suite.

    python benchmarks/disentangled.py yelp_disentangled_vae [--ablation all|ae|mul|adv|style]
        [--data ../shared/data/yelp] [--out benchmarks/runs] [--threads 2] [key=value ...]
        [--strength 1.0] [--beam 0] [--eval-only]

``--strength`` and ``--beam`` set how the test split is transferred (tune them on dev with
``textvae tune --model RUN --no-write``, or ``--tuned`` for what it saved); ``--eval-only`` scores an existing run without training.

Ablation rows of John et al. (2019, Table 2): ``ae`` (no auxiliary loss), ``mul`` (+ multitask
style), ``adv`` (+ adversarial style), ``style`` (both style losses), ``all`` (all four losses,
the recipe as written); row X trains ``recipes/RECIPE_X.yaml`` (the recipe with those weights at 0)
into OUT/RECIPE-X. Besides the suite's metrics the row reports how well an MLP probe
trained on dev codes reads the style from ``s`` and from ``c`` on the test codes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import textvae
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.probes import probe_accuracy
from textvae.evaluation.transfer import TransferEvaluator, score_model
from textvae.training import train  # trains the evaluation's fluency LM the first time

from transfer_common import add_transfer_arguments, save_row, train_or_reuse, transfer_options

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
ABLATIONS = ("all", "ae", "mul", "adv", "style")  # recipes/RECIPE_ROW.yaml; "all" is RECIPE itself


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--ablation", default="all", choices=ABLATIONS)
    add_transfer_arguments(parser)
    args = parser.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    overrides = [f"train.threads={args.threads}"] + args.overrides
    if args.data:
        overrides.append(f"data.path={args.data}")
    recipe = args.recipe if args.ablation == "all" else f"{args.recipe}_{args.ablation}"
    config = load_recipe(RECIPES / f"{recipe}.yaml", overrides)
    name = args.recipe if args.ablation == "all" else f"{args.recipe}-{args.ablation}"
    out = Path(args.out) / name
    result, trained_minutes = train_or_reuse(config, out, args)

    model = textvae.load(out, device="cpu")
    corpus = load_corpus(config.data.path)
    evaluator = TransferEvaluator(corpus, train_lm=train)
    options, setting, tag = transfer_options(args)
    scores = score_model(model, evaluator, "test", save_to=out, **options)
    texts, labels = corpus.texts("test"), corpus.labels("test")
    dev_codes, test_codes = model.encode(corpus.texts("dev")), model.encode(texts)
    (dev_s, dev_c), (test_s, test_c) = model.model.split(dev_codes), model.model.split(test_codes)
    dev_labels = corpus.labels("dev")
    probes = {"probe_s": probe_accuracy(dev_s, dev_labels, test_s, labels),
              "probe_c": probe_accuracy(dev_c, dev_labels, test_c, labels)}
    overall = scores["directions"]["overall"]
    row = {"recipe": args.recipe, "ablation": args.ablation, "steps": result["step"], "transfer": setting,
           "train_minutes": trained_minutes, **probes, "overall": overall, "scores": scores}
    save_row(out, tag, row, [name, str(result["step"]), setting, f"{100 * overall['accuracy']:.1f}",
                             f"{overall['self_bleu']:.1f}", f"{overall['similarity']:.3f}", f"{overall['overlap']:.3f}",
                             f"{overall['ppl']:.1f}", f"{100 * probes['probe_s']:.1f}", f"{100 * probes['probe_c']:.1f}"])

if __name__ == "__main__":
    run_script(main)
