"""Prior samples of a model with a prior (e.g. ARAE's generator): forward and reverse perplexity.

    python benchmarks/samples_ppl.py MODEL_DIR [--data DIR] [--samples 10000] [--split test]

Prints one Markdown row (samples, distinct share, forward PPL, reverse PPL, the real split's PPL
under the same forward LM) and writes samples_ppl.json next to the model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import textvae
from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.samples import sample_perplexities
from textvae.io import atomic_write_text
from textvae.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", help="corpus (default: the model's)")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    model = textvae.load(args.model, device="cpu")
    corpus = load_corpus(args.data or model.config.data.path)
    result = sample_perplexities(model, corpus, train, n=args.samples, split=args.split)
    atomic_write_text(Path(model.path) / "samples_ppl.json", json.dumps(result, indent=2) + "\n")
    print("| model | samples | distinct | forward PPL | reverse PPL | real PPL |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| {model.config.name} | {result['samples']} | {result['distinct']:.3f} | {result['forward_ppl']:.1f} | "
          f"{result['reverse_ppl']:.1f} | {result['real_ppl']:.1f} |")
    for example in result["examples"][:5]:
        print(f"- {example}")


if __name__ == "__main__":
    run_script(main)
