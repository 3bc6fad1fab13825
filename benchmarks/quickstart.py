"""Quickstart benchmark: train recipes/synthetic_ae.yaml and report time and held-out reconstruction.

    python benchmarks/quickstart.py [--out DIR] [key=value ...]

Target (issue 2): under 3 minutes on 2 CPU cores, greedy token accuracy >= 90% on held-out sentences.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from textvae.config import load_recipe
from textvae.errors import run_script
from textvae.training import train

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "synthetic_ae.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="run directory (default: a temporary one)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "run"
    config = load_recipe(RECIPE, args.overrides)
    started = time.perf_counter()
    result = train(config, out, force=True)
    wall = time.perf_counter() - started
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| split | wall clock (s, incl. data + tokenizer) | steps | recon_acc | recon_exact | token_acc |")
    print("|---|---:|---:|---:|---:|---:|")
    for split in ("dev", "test"):
        m = result.get(split) or {}
        print(f"| {split} | {wall:.0f} | {result['step']} | {m.get('recon_acc', float('nan')):.4f} | "
              f"{m.get('recon_exact', float('nan')):.4f} | {m.get('token_acc', float('nan')):.4f} |")


if __name__ == "__main__":
    run_script(main)
