"""The disentanglement table (issue 24): mean and spread over seeds of the rows that
``benchmarks/disentanglement.py`` wrote, one line per recipe, and a plot of MIG against
reconstruction BLEU (one point per run, the mean per recipe marked). It reads the committed rows
(benchmarks/results/disentanglement/*.json) or, with ``--rows``, another folder of them or a runs
folder (``factors_*-seed*/row.json``).

    python benchmarks/disentanglement_table.py [--rows DIR] [--plot docs/figures/FILE.png]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from textvae.errors import TextvaeError, run_script

from disentanglement import RESULTS, SHOWN

ORDER = ("factors_ae", "factors_vae", "factors_beta4", "factors_capacity", "factors_factorvae", "factors_factorvae_dlr", "factors_vae_fb", "factors_factorvae_fb",
         "factors_factorvae_fb_dlr", "factors_factorvae_fb_dlr_random", "factors_tcvae",
         "factors_dip1", "factors_dip2", "factors_lsigma")


def cell(values, digits: int = 3) -> str:
    """``mean ± sd`` over seeds (the sample standard deviation; just the value for one seed)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=str(RESULTS), help="a folder of rows, or of runs with row.json")
    parser.add_argument("--plot", default=None, help="PNG of MIG against reconstruction BLEU")
    args = parser.parse_args()
    rows = defaultdict(list)
    folder = Path(args.rows)
    for path in sorted(folder.glob("factors_*-seed*.json")) + sorted(folder.glob("factors_*-seed*/row.json")):
        row = json.loads(path.read_text())
        rows[row["recipe"]].append(row)
    if not rows:
        raise TextvaeError(f"no factors_*-seed* rows in {folder}: run benchmarks/disentanglement.py first")
    names = [r for r in ORDER if r in rows] + sorted(set(rows) - set(ORDER))
    print("| recipe | seeds | steps | MIG | DCI D | DCI C | DCI I | FactorVAE score | SAP | recon BLEU | KL |")
    print("|---|---|---:|" + "---:|" * (len(SHOWN) + 2))
    for name in names:
        runs = rows[name]
        seeds = ",".join(str(r["seed"]) for r in sorted(runs, key=lambda r: r["seed"]))
        steps = f"{np.mean([r['steps'] for r in runs]):,.0f}"
        metrics = [cell([r["scores"][k] for r in runs]) for k in SHOWN]
        bleu, kl = cell([r["recon_bleu"] for r in runs], 1), cell([r["kl"] for r in runs], 2)
        print(f"| {name} | {seeds} | {steps} | " + " | ".join(metrics) + f" | {bleu} | {kl} |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5))
        ax.axvspan(60, 101, ymin=0, ymax=1, color="0.92", zorder=0)
        ax.axhline(0.3, color="0.6", linestyle="--", linewidth=0.8)  # the target: MIG >= 0.3 at BLEU >= 60
        for i, name in enumerate(names):
            bleu = [r["recon_bleu"] for r in rows[name]]
            mig = [r["scores"]["mig"] for r in rows[name]]
            color = plt.cm.tab20((2 * i) % 20 + (i // 10) % 2)  # the dark shades first
            ax.scatter(bleu, mig, alpha=0.5, s=18, color=color)
            ax.scatter([np.mean(bleu)], [np.mean(mig)], marker="*", s=140, color=color,
                       label=name.removeprefix("factors_"))
        ax.set_xlabel("reconstruction BLEU (test)")
        ax.set_ylabel("MIG (test)")
        ax.set_title("Factor corpus: disentanglement against reconstruction")
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    run_script(main)
