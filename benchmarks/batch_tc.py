"""What a batch-estimated total-correlation penalty can see (issue 24): the Gaussian total
correlation (``textvae.evaluation.vae.gaussian_total_correlation``) of a trained model's codes of
a split, over the whole split and averaged over training-sized batches drawn as training draws
them, length-bucketed (``train.batching: length``) or random (``random``), next to the same
batches' value for codes whose dimensions were shuffled independent (the small-batch floor).
Where the dependence between dimensions goes through the sentence length, length-bucketed batches
show only the floor.

    python benchmarks/batch_tc.py RUN [RUN ...] [--split test] [--max-tokens 2048 --max-sentences 64]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import textvae
from textvae.data.batching import bucket_batches
from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.vae import gaussian_total_correlation, make_batches


def codes(model, texts):
    """Posterior means and log-variances of ``texts``, in input order."""
    means, logvars = [None] * len(texts), [None] * len(texts)
    with torch.inference_mode():
        for batch in make_batches(model.tokenizer, texts):
            posterior = model.model.encode(batch.src, batch.lengths)
            for row, i in enumerate(batch.index.tolist()):
                means[i], logvars[i] = posterior["mean"][row].float(), posterior["logvar"][row].float()
    return torch.stack(means), torch.stack(logvars)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--max-sentences", type=int, default=64)
    args = parser.parse_args()
    print("| run | TC, whole split | TC per batch, length-bucketed | TC per batch, random | independent floor |")
    print("|---|---:|---:|---:|---:|")
    for run in args.runs:
        model = textvae.load(run, device="cpu")
        texts = load_corpus(model.config.data.path, splits=(args.split,)).texts(args.split)
        mean, logvar = codes(model, texts)
        generator = torch.Generator().manual_seed(0)
        shuffled = torch.stack([torch.randperm(len(mean), generator=generator) for _ in range(mean.size(1))], 1)
        floor_mean, floor_logvar = mean.gather(0, shuffled), logvar.gather(0, shuffled)
        lengths = [len(ids) for ids in model.tokenizer.encode(texts)]
        cells, floors = [], []
        for by_length in (True, False):
            batches = [b for b in bucket_batches(lengths, args.max_tokens, args.max_sentences, shuffle=True, seed=0,
                                                 by_length=by_length) if len(b) >= args.max_sentences * 3 // 4]
            cells.append(np.mean([gaussian_total_correlation(mean[b], logvar[b]) for b in batches]))
            floors.append(np.mean([gaussian_total_correlation(floor_mean[b], floor_logvar[b]) for b in batches]))
        print(f"| {run} | {gaussian_total_correlation(mean, logvar):.3f} | {cells[0]:.3f} | {cells[1]:.3f} | "
              f"{np.mean(floors):.3f} |")


if __name__ == "__main__":
    run_script(main)
