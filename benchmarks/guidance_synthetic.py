"""Style guidance on the synthetic corpus (issue 23's lever, checked where the truth is known): train
a small back-translation model briefly, then count, per strength, the test transfers that carry a
target-style word and no source-style word (flipped) and those that keep every noun of their
source (kept), 100 per direction.

    python benchmarks/guidance_synthetic.py [--steps 150] [--strengths 0,1,1.5,2,3] [--out benchmarks/runs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import textvae
from textvae.config import load_recipe
from textvae.data.synthetic import LABEL_NAMES, synthetic_splits, transfer_truth
from textvae.errors import run_script
from textvae.training import train

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "synthetic_ibt_gru.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--strengths", default="0,1,1.5,2,3")
    parser.add_argument("--out", default="benchmarks/runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out) / f"guidance-synthetic-{args.steps}"
    if not (out / "result.json").exists():
        train(load_recipe(RECIPE, [
            "data.path=synthetic:6000", "train.max_minutes=null", "train.eval_max_sentences=200",
            f"train.max_steps={args.steps}", f"train.eval_every={args.steps}", f"train.checkpoint_every={args.steps}",
            "train.lr=0.002", "train.threads=1", "model.embedding_dim=64", "model.encoder.hidden_size=64",
            "model.decoder.hidden_size=128", "train.eval_transfer_sentences=0"]), out)
    model = textvae.load(out, device="cpu")
    test = synthetic_splits(n_train=10, n_dev=10, n_test=400, seed=0)["test"]
    print("| strength | flipped | kept | of |\n|---:|---:|---:|---:|")
    sources = [[e for e in test if e.label == label][:100] for label in (0, 1)]
    for strength in (float(s) for s in args.strengths.split(",")):
        flipped = kept = 0
        for examples in sources:
            outputs = model.transfer([e.text for e in examples], to=LABEL_NAMES[1 - examples[0].label], strength=strength)
            counts = transfer_truth(examples, outputs)
            flipped, kept = flipped + counts[0], kept + counts[1]
        print(f"| {strength:g} | {flipped} | {kept} | {sum(map(len, sources))} |")


if __name__ == "__main__":
    run_script(main)
