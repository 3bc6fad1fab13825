"""Disentanglement benchmark (issue 24): train a factors_* recipe with a seed (within its budget,
resumable), then score the codes of the factor corpus' test split: MIG, DCI (D/C/I), FactorVAE
score, SAP, reconstruction BLEU and KL. Prints one Markdown row; writes row.json next to the run
(``--split dev``, for tuning: row-dev.json) and, for the test split, a copy to ``--record``
(benchmarks/results/disentanglement/RECIPE-seedS.json, committed, so that the table survives a new
machine; ``--record ''`` skips it).

    python benchmarks/disentanglement.py factors_tcvae [--seed 0] [--threads 1] [--out benchmarks/runs]
        [--resume] [--eval-only] [--record DIR] [key=value ...]
"""

from __future__ import annotations

import argparse
import datetime
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

from train_throughput import machine
from transfer_common import add_run_arguments, train_or_reuse

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
RESULTS = Path(__file__).resolve().parent / "results" / "disentanglement"
SHOWN = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "factor_vae_score", "sap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", choices=["dev", "test"], help="dev for tuning")
    parser.add_argument("--record", default=str(RESULTS), help="folder of the committed test rows ('': none)")
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
           "machine": machine(), "date": datetime.date.today().isoformat(),
           "scores": scores, "recon_bleu": vae.get("recon_bleu"), "kl": vae.get("kl", 0.0)}
    name = "row.json" if args.split == "test" else f"row-{args.split}.json"
    text = json.dumps(row, indent=2) + "\n"
    atomic_write_text(out / name, text)
    if args.record and args.split == "test" and not args.overrides:  # overridden rows are experiments, not the table's
        Path(args.record).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.record) / f"{args.recipe}-seed{args.seed}.json", text)
    print("| " + " | ".join([args.recipe, str(args.seed), str(result["step"])]
                            + [f"{scores[k]:.3f}" for k in SHOWN]
                            + [f"{row['recon_bleu']:.1f}", f"{row['kl']:.2f}"]) + " |")


if __name__ == "__main__":
    run_script(main)
