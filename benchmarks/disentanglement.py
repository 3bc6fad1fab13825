"""Disentanglement benchmark (issue 24): train a factors_* recipe with a seed (within its budget,
resumable), then score the codes of the factor corpus' test split: MIG, DCI (D/C/I), FactorVAE
score, SAP, reconstruction BLEU and KL. Prints one Markdown row; writes row.json next to the run
(``--split dev``, for tuning: row-dev.json).

    python benchmarks/disentanglement.py factors_tcvae [--seed 0] [--threads 1] [--out benchmarks/runs]
        [--resume] [--eval-only] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import textvae
from textvae.config import load_recipe
from textvae.data.factors import read_factors
from textvae.errors import run_script
from textvae.evaluation.disentanglement import all_metrics
from textvae.evaluation.vae import vae_diagnostics
from textvae.io import atomic_write_text

from transfer_common import add_run_arguments, train_or_reuse

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SHOWN = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "factor_vae_score", "sap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", choices=["dev", "test"], help="dev for tuning")
    add_run_arguments(parser)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    config = load_recipe(RECIPES / f"{args.recipe}.yaml",
                         [f"seed={args.seed}", f"train.threads={args.threads}"] + args.overrides)
    out = Path(args.out) / f"{args.recipe}-seed{args.seed}"
    result, _ = train_or_reuse(config, out, args)
    model = textvae.load(out, device="cpu")
    texts, values, names = read_factors(config.data.path, args.split)
    scores = all_metrics(model.encode(texts).float().numpy(), np.array(values), names, seed=args.seed)
    vae = vae_diagnostics(model.model, model.tokenizer, texts, torch.device("cpu"), iw_samples=1, seed=args.seed)
    row = {"recipe": args.recipe, "seed": args.seed, "split": args.split, "overrides": args.overrides,
           "steps": result["step"], "minutes": result["elapsed"] / 60,
           "scores": scores, "recon_bleu": vae.get("recon_bleu"), "kl": vae.get("kl", 0.0)}
    name = "row.json" if args.split == "test" else f"row-{args.split}.json"
    atomic_write_text(out / name, json.dumps(row, indent=2) + "\n")
    print("| " + " | ".join([args.recipe, str(args.seed), str(result["step"])]
                            + [f"{scores[k]:.3f}" for k in SHOWN]
                            + [f"{row['recon_bleu']:.1f}", f"{row['kl']:.2f}"]) + " |")


if __name__ == "__main__":
    run_script(main)
