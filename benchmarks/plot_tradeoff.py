"""Plot dev transfer accuracy against self-BLEU for several runs' sweeps (issue 6's ablation rows):
one line per run, one point per transfer setting.

    python benchmarks/plot_tradeoff.py "full VAE=sweep_all.json" "AE only=sweep_ae.json" ... \
        --out docs/figures/tradeoff.png [--beam 5] [--title TEXT]

A NAME given twice joins the points of both files. Each JSON file is what
``textvae tune --model RUN --json FILE`` wrote (issue 22; before it, the
same rows came from ``benchmarks/transfer_sweep.py``); ``--beam`` keeps the points
decoded with that beam size (0: greedy; default: all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textvae.errors import run_script
from textvae.reports.plots import tradeoff_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="+", help="NAME=SWEEP.json")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--beam", type=int, default=None, help="only the points with this beam size")
    parser.add_argument("--title", default="", help="the figure's title")
    args = parser.parse_args()
    curves = {}
    for item in args.curves:
        name, sep, file = item.rpartition("=")
        if not sep or not name:
            sys.exit(f"error: {item!r} is not NAME=FILE")
        try:
            points = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            sys.exit(f"error: cannot read the sweep {file}: {error}")
        curves.setdefault(name, []).extend(p for p in points if args.beam is None or p.get("beam") == args.beam)
    print(tradeoff_plot(curves, Path(args.out), title=args.title))


if __name__ == "__main__":
    run_script(main)
