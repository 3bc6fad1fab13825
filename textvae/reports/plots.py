"""Latent-space plots: 2-D projections of codes coloured by label (John et al. 2019, Figure 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from textvae.errors import TextvaeError


def project(codes: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """``(N, D)`` -> ``(N, 2)`` by t-SNE (van der Maaten and Hinton 2008) or PCA."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    if method == "pca":
        centred = codes - codes.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return centred @ vt[:2].T
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(codes) - 1) / 3))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)
    raise TextvaeError(f"unknown projection {method!r}; choose tsne or pca")


def latent_plot(panels: Dict[str, np.ndarray], labels: Sequence[int], label_names: Sequence[str], path: Path,
                method: str = "tsne", seed: int = 0) -> Path:
    """One scatter panel per code (e.g. ``{"style s": ..., "content c": ...}``), written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for ax, (title, codes) in zip(axes[0], panels.items()):
        xy = project(codes, method, seed)
        for k, name in enumerate(label_names):
            mask = labels == k
            ax.scatter(xy[mask, 0], xy[mask, 1], s=6, alpha=0.6, label=name)
        ax.set_title(f"{title} ({method.upper()})")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(markerscale=3, loc="best")
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` as PNG atomically (a temporary file renamed over ``path``) and close it."""
    import io

    import matplotlib.pyplot as plt

    from textvae.io import atomic_write_bytes

    fig.tight_layout()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def model_latent_plot(model, texts: Sequence[str], labels: Sequence[int], path: Path, method: str = "tsne") -> Path:
    """Posterior means of ``texts``; split models get a style and a content panel."""
    codes = model.encode(list(texts)).float().cpu()
    if model.model.style_dim:
        s, c = model.model.split(codes)
        panels = {"style s": s.numpy(), "content c": c.numpy()}
    else:
        panels = {"latent z": codes.numpy()}
    return latent_plot(panels, labels, model.label_names, path, method)


def training_curve(metrics_file: Path, path: Path, keys=("transfer_acc", "transfer_self_bleu"),
                   split: str = "dev") -> Path:
    """Plot ``keys`` of the ``split`` records in a run's ``metrics.jsonl`` against training time."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in Path(metrics_file).read_text(encoding="utf-8").splitlines() if line]
    records = [r for r in records if r.get("split") == split]
    keys = [k for k in keys if any(k in r for r in records)]
    if not keys:
        raise TextvaeError(f"{metrics_file} has no {split} records with {', '.join(keys) or 'those metrics'}")
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        points = [(r["elapsed"] / 60, r[key]) for r in records if key in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_xlabel("training minutes")
        ax.set_title(f"{split} {key}")
        ax.grid(alpha=0.3)
    return save_figure(fig, path)


def interpolation_plot(results: Sequence[dict], path: Path) -> Path:
    """The crossover of an interpolation report: mean sentence BLEU of the decoded point at t to
    the start sentence and to the end sentence (a smooth path hands over gradually; a jumpy one
    switches in one step), with one faint line per pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, colour, name in (("bleu_to_a", "tab:blue", "start"), ("bleu_to_b", "tab:orange", "end")):
        curves = np.array([r[key] for r in results], dtype=float)
        t = np.linspace(0.0, 1.0, curves.shape[1])
        for curve in curves:
            ax.plot(t, curve, color=colour, alpha=0.15, linewidth=0.8)
        ax.plot(t, curves.mean(0), color=colour, linewidth=2.2, marker="o", label=f"BLEU to the {name} sentence")
    ax.set_xlabel("interpolation t")
    ax.set_ylabel("sentence BLEU")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", fontsize=8)
    ax.set_title(f"Crossover over {len(results)} pairs")
    return save_figure(fig, path)


def trajectory_plot(results: Sequence[dict], target: str, path: Path) -> Path:
    """The trajectory analysis of latent manipulation (Larsson et al. 2017): the judge's
    probability of the target style and the BLEU to the source against the distance moved, one
    faint line per sentence and the mean over sentences at each step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    bleu_axis = ax.twinx()
    for axis, key, colour, name in ((ax, "target_probability", "tab:blue", f"P({target})"),
                                    (bleu_axis, "bleu", "tab:orange", "BLEU to the source / 100")):
        for r in results:
            axis.plot([p["distance"] for p in r["points"]], [p[key] / (100 if key == "bleu" else 1) for p in r["points"]],
                      color=colour, alpha=0.12, linewidth=0.8)
        distance = np.array([[p["distance"] for p in r["points"]] for r in results]).mean(0)
        values = np.array([[p[key] for p in r["points"]] for r in results]).mean(0) / (100 if key == "bleu" else 1)
        axis.plot(distance, values, color=colour, linewidth=2.2, marker="o", label=name)
        axis.set_ylim(0, 1)
    ax.set_xlabel("distance moved (reference spread)")
    ax.set_ylabel(f"judge P({target})")
    bleu_axis.set_ylabel("BLEU to the source / 100")
    ax.grid(alpha=0.3)
    lines = ax.get_legend_handles_labels()
    more = bleu_axis.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="center right", fontsize=8)
    ax.set_title(f"Moving {len(results)} codes towards {target}")
    return save_figure(fig, path)


def tradeoff_plot(curves: Dict[str, Sequence[dict]], path: Path, x: str = "self_bleu", y: str = "accuracy",
                  annotate: str = "strength", title: str = "") -> Path:
    """Transfer accuracy against content preservation, one line per system: each point is one
    transfer-time setting (e.g. a style strength), labelled with its ``annotate`` value. The usual
    way to compare style-transfer systems whose single operating points differ (e.g. Shen et al.
    2017; Lample et al. 2019 compare at matched accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {name: [p for p in points if x in p and y in p] for name, points in curves.items()}
    curves = {name: points for name, points in curves.items() if points}
    if not curves:
        raise TextvaeError(f"no points with both {x!r} and {y!r} to plot")
    many = len(curves) > 8  # then distinct colours and markers, and the legend beside the plot
    fig, ax = plt.subplots(figsize=(9.6 if many else 6.4, 4.8 if many else 4.4))
    colours, markers = plt.get_cmap("tab20").colors, "osD^vPX*<>h"
    for i, (name, points) in enumerate(curves.items()):
        points = sorted(points, key=lambda p: p[x])
        style = {"color": colours[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20], "marker": markers[i % len(markers)]} \
            if many else {"marker": "o"}
        line, = ax.plot([p[x] for p in points], [p[y] for p in points], label=name, **style)
        for p in points:
            if annotate in p:
                ax.annotate(f"{p[annotate]:g}", (p[x], p[y]), textcoords="offset points", xytext=(3, 3),
                            fontsize=7, color=line.get_color())
    names = {"self_bleu": "self-BLEU", "accuracy": "transfer accuracy (%)"}
    ax.set_xlabel(names.get(x, x))
    ax.set_ylabel(names.get(y, y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if many:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)


def factor_heatmap(view: Dict, path: Path) -> Path:
    """The traversal report's factor view: per code dimension (rows), how much each factor
    (columns) varies along the dimension's traversals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(view["changed"])
    fig, ax = plt.subplots(figsize=(1.1 * len(view["factors"]) + 2, 0.35 * len(view["dims"]) + 1.6))
    image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(view["factors"])), view["factors"], rotation=30, ha="right")
    ax.set_yticks(range(len(view["dims"])), [f"z{d}" for d in view["dims"]])
    ax.set_xlabel("factor")
    ax.set_ylabel("code dimension traversed")
    fig.colorbar(image, ax=ax, label="variation along the traversal")
    return save_figure(fig, path)


def few_label_plot(results: Dict[str, Dict[int, Dict[str, float]]], sizes: Sequence[int], path: Path) -> Path:
    """Test accuracy against the number of labels (log scale), one line per model, with the
    spread over draws as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for name, by_size in results.items():
        line = ax.errorbar(list(sizes), [by_size[n]["mean"] for n in sizes], yerr=[by_size[n]["std"] for n in sizes],
                           marker="o", capsize=3, label=str(name))
        own = by_size.get("own")
        if own and own.get("labels"):  # a model's own classifier (M2), at the labels it was trained with
            ax.plot([own["labels"]], [own["accuracy"]], marker="*", markersize=12, linestyle="none",
                    color=line[0].get_color(), label=f"{name}: own classifier")
    ax.set_xscale("log")
    ax.set_xlabel("labelled training sentences")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
