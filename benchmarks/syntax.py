"""Syntactic-saliency benchmark (issue 25): the ablation of Brunner et al. (2018) on the factor
corpus. For one variant and seed, train ``factors_multitask`` with the variant's decoders (within
the recipe's budget, resumable), then score the test codes against the part-of-speech templates
(``textvae evaluate syntax``'s scores). Prints one Markdown row; writes row.json next to the run.

    python benchmarks/syntax.py VARIANT [--seed 0] [--threads 1] [--out benchmarks/runs] [--resume]
        [--eval-only] [key=value ...]          # VARIANT: ae, ae_pos, ae_translation, ae_pos_translation
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import textvae
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.data.tags import load_lexicon, tag_sentence
from textvae.errors import run_script
from textvae.evaluation.syntax import syntactic_saliency
from textvae.io import atomic_write_text

from transfer_common import add_run_arguments, train_or_reuse

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "factors_multitask.yaml"
VARIANTS = {"ae": (0, 0), "ae_pos": (1, 0), "ae_translation": (0, 1), "ae_pos_translation": (1, 1)}
SHOWN = ("kmeans_purity", "kmeans_ari", "ward_purity", "ward_ari", "neighbour_agreement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    add_run_arguments(parser)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    pos, translation = VARIANTS[args.variant]
    config = load_recipe(RECIPE, [f"seed={args.seed}", f"train.threads={args.threads}", f"model.decoders.pos={pos}",
                                  f"model.decoders.translation={translation}"] + args.overrides)
    out = Path(args.out) / f"syntax_{args.variant}-seed{args.seed}"
    result, _ = train_or_reuse(config, out, args)
    model = textvae.load(out, device="cpu")
    texts = load_corpus(config.data.path, splits=("test",)).texts("test")
    lexicon = load_lexicon("factors")
    scores = syntactic_saliency(model.encode(texts).float().numpy(), [tag_sentence(t.split(), lexicon) for t in texts],
                                seed=args.seed)
    row = {"variant": args.variant, "seed": args.seed, "steps": result["step"], "minutes": result["elapsed"] / 60,
           "scores": scores}
    atomic_write_text(out / "row.json", json.dumps(row, indent=2) + "\n")
    print("| " + " | ".join([args.variant, str(args.seed), str(result["step"])] + [f"{scores[k]:.3f}" for k in SHOWN]
                            + [f"{scores['chance_purity']:.3f}", f"{scores['chance_neighbour_agreement']:.3f}"]) + " |")


if __name__ == "__main__":
    run_script(main)
