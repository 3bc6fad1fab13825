"""The disentanglement table (issue 24): mean and spread over seeds of the rows that
``benchmarks/disentanglement.py`` wrote, one line per recipe, and a plot of MIG against
reconstruction BLEU (one point per run, the mean per recipe marked).

    python benchmarks/disentanglement_table.py [--runs benchmarks/runs] [--plot docs/figures/FILE.png]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from textvae.errors import TextvaeError, run_script

from disentanglement import SHOWN

ORDER = ("factors_ae", "factors_vae", "factors_beta4", "factors_capacity", "factors_factorvae", "factors_tcvae",
         "factors_dip1", "factors_dip2", "factors_lsigma")


def cell(values) -> str:
    """``mean ± spread`` (spread: half the range over seeds; just the value for one seed)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {(values.max() - values.min()) / 2:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="benchmarks/runs")
    parser.add_argument("--plot", default=None, help="PNG of MIG against reconstruction BLEU")
    args = parser.parse_args()
    rows = defaultdict(list)
    for path in sorted(Path(args.runs).glob("factors_*-seed*/row.json")):
        row = json.loads(path.read_text())
        rows[row["recipe"]].append(row)
    if not rows:
        raise TextvaeError(f"no factors_*-seed*/row.json under {args.runs}: run benchmarks/disentanglement.py first")
    names = [r for r in ORDER if r in rows] + sorted(set(rows) - set(ORDER))
    print("| recipe | seeds | steps | " + " | ".join(SHOWN) + " | recon BLEU | KL |")
    print("|---|---|---:|" + "---:|" * (len(SHOWN) + 2))
    for name in names:
        runs = rows[name]
        seeds = ",".join(str(r["seed"]) for r in sorted(runs, key=lambda r: r["seed"]))
        steps = f"{np.mean([r['steps'] for r in runs]):,.0f}"
        metrics = [cell([r["scores"][k] for r in runs]) for k in SHOWN]
        bleu = cell([r["recon_bleu"] for r in runs]).replace(".000", "")
        print(f"| {name} | {seeds} | {steps} | " + " | ".join(metrics) + f" | {bleu} | {cell([r['kl'] for r in runs])} |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for name in names:
            bleu = [r["recon_bleu"] for r in rows[name]]
            mig = [r["scores"]["mig"] for r in rows[name]]
            points = ax.scatter(bleu, mig, alpha=0.5, s=18)
            ax.scatter([np.mean(bleu)], [np.mean(mig)], marker="*", s=140, color=points.get_facecolor()[0],
                       label=name.removeprefix("factors_"))
        ax.set_xlabel("reconstruction BLEU (test)")
        ax.set_ylabel("MIG (test)")
        ax.set_title("Factor corpus: disentanglement against reconstruction")
        ax.legend(fontsize=8, ncol=2)
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    run_script(main)
