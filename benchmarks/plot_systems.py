"""Plot test accuracy against self-BLEU for the style-transfer rows of docs/benchmarks.md (issue
21's figure): one point per row, from the row files benchmarks/transfer_model.py writes, or
quoted numbers for rows from earlier sessions.

    python benchmarks/plot_systems.py "cross-aligned=benchmarks/runs/yelp_cross_aligned/row-strength1-beam0.json" \
        "IBT (s4, quoted)=79.6,55.7" ... --out docs/figures/yelp_transfer_systems.png [--title TEXT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textvae.errors import run_script
from textvae.reports.plots import tradeoff_plot


def point(spec: str) -> dict:
    """``ACC,BLEU`` (percent, BLEU) or a row JSON file."""
    if "," in spec and not Path(spec).exists():
        accuracy, bleu = (float(v) for v in spec.split(","))
        return {"accuracy": accuracy, "self_bleu": bleu}
    overall = json.loads(Path(spec).read_text(encoding="utf-8"))["overall"]
    return {"accuracy": 100 * overall["accuracy"], "self_bleu": overall["self_bleu"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", help="NAME=ROW.json or NAME=ACC,BLEU")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    curves = {}
    for item in args.rows:
        name, sep, spec = item.partition("=")
        if not sep or not name:
            sys.exit(f"error: {item!r} is not NAME=ROW.json or NAME=ACC,BLEU")
        try:
            curves[name] = [point(spec)]
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"error: cannot read the row {spec}: {error}")
    print(tradeoff_plot(curves, Path(args.out), annotate="-", title=args.title))


if __name__ == "__main__":
    run_script(main)
