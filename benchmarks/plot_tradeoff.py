"""Plot dev transfer accuracy against self-BLEU for several runs' sweeps (issue 6's ablation rows):
one line per run, one point per transfer setting.

    python benchmarks/plot_tradeoff.py "full VAE=sweep_all.json" "AE only=sweep_ae.json" ... \
        --out docs/figures/tradeoff.png [--beam 5] [--title TEXT]

A NAME given twice joins the points of both files. Each JSON file is what
``textvae tune --model RUN --json FILE`` wrote (issue 22; before it, the
same rows came from ``benchmarks/transfer_sweep.py``); ``--beam`` keeps the points
decoded with that beam size (0: greedy; default: all). A test row of benchmarks/transfer_model.py
(``row-*.json``) or ``ACC,BLEU`` typed in is one point, so the same command draws the systems
figure of issue 21: one point per row of the table.
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
    parser.add_argument("curves", nargs="+", help="NAME=SWEEP.json, NAME=ROW.json or NAME=ACC,BLEU")
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
            points = read_points(file)
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"error: cannot read the sweep {file}: {error}")
        curves.setdefault(name, []).extend(p for p in points if args.beam is None or p.get("beam") == args.beam)
    print(tradeoff_plot(curves, Path(args.out), title=args.title))


def read_points(spec: str) -> list:
    """A sweep's rows (a JSON list), one benchmark row (``row-*.json`` of transfer_model.py: one
    point), or ``ACC,BLEU`` typed in (a row quoted from an earlier session)."""
    if "," in spec and not Path(spec).exists():
        accuracy, bleu = (float(v) for v in spec.split(","))
        return [{"accuracy": accuracy, "self_bleu": bleu}]
    data = json.loads(Path(spec).read_text(encoding="utf-8"))
    if isinstance(data, dict):  # a benchmark row
        return [{"accuracy": 100 * data["overall"]["accuracy"], "self_bleu": data["overall"]["self_bleu"]}]
    return data


if __name__ == "__main__":
    run_script(main)
