"""The disentangling penalties on Yelp (issue 24): one table row per run that
``benchmarks/vae_yelp.py`` evaluated, with the total correlation of the aggregate posterior
(``textvae.evaluation.vae.gaussian_total_correlation``; computed here for rows evaluated before it
was a diagnostic), and a plot of what each penalty buys (total correlation) against what it costs
(IW-NLL, style probe). The rows are copied to benchmarks/results/vae_yelp/ so the table is
rebuilt on a machine without the runs.

    python benchmarks/vae_yelp_table.py yelp_vae_anneal yelp_vae_beta4 ... [--runs benchmarks/runs]
        [--plot docs/figures/FILE.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from textvae.errors import TextvaeError, run_script

RESULTS = Path(__file__).resolve().parent / "results" / "vae_yelp"
COLUMNS = (("steps", "steps", "{:,}"), ("nll", "NLL (IW)", "{:.2f}"), ("ppl", "PPL", "{:.2f}"),
           ("elbo", "-ELBO", "{:.2f}"), ("kl", "KL", "{:.2f}"), ("mi", "MI", "{:.2f}"),
           ("total_correlation", "TC (Gaussian)", "{:.2f}"), ("active_units", "AU", "{}"),
           ("recon_bleu", "recon BLEU", "{:.1f}"), ("style_probe", "style probe %", "{:.1f}"))


def total_correlation(run: Path, split: str) -> float:
    """The run's Gaussian total correlation on ``split`` of its corpus (posterior means and variances)."""
    import textvae
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.vae import gaussian_total_correlation

    from batch_tc import codes

    model = textvae.load(run, device="cpu")
    return gaussian_total_correlation(*codes(model, load_corpus(model.config.data.path, splits=(split,)).texts(split)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="run names under --runs (or rows in benchmarks/results/vae_yelp)")
    parser.add_argument("--runs", default="benchmarks/runs")
    parser.add_argument("--plot", help="PNG: total correlation against IW-NLL and the style probe")
    args = parser.parse_args()
    rows = []
    for name in args.names:
        saved, fresh = RESULTS / f"{name}.json", Path(args.runs) / name / "row.json"
        if not fresh.is_file() and not saved.is_file():
            raise TextvaeError(f"no row for {name}: neither {fresh} nor {saved}; run benchmarks/vae_yelp.py {name}")
        row = json.loads((fresh if fresh.is_file() else saved).read_text())
        if "total_correlation" not in row:
            row["total_correlation"] = total_correlation(fresh.parent, row["split"])
        RESULTS.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({**row, "name": name}, indent=2) + "\n")
        rows.append((name, row))
    print("| run | " + " | ".join(label for _, label, _ in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name, row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "-" for key, _, fmt in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.plot:
        plot(rows, Path(args.plot))


def plot(rows, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "nll", "test IW-NLL (nats, lower is better)"),
                           (axes[1], "style_probe", "style probe accuracy % (10k labels)")):
        for name, row in rows:
            ax.scatter(row["total_correlation"], row[key])
            ax.annotate(name.removeprefix("yelp_vae_").removeprefix("yelp_"), (row["total_correlation"], row[key]),
                        fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("total correlation of the aggregate posterior (Gaussian, nats)")
        ax.set_ylabel(label)
    fig.suptitle("Disentangling penalties on Yelp: what they buy (TC) and cost")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    run_script(main)
