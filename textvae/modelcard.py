"""Model cards: the ``README.md`` of every model directory, in the Hugging Face model-card layout
(YAML metadata, then Markdown), so a directory uploaded to a hub repository shows it as is.

The card is written with the model (what it is, the recipe, the corpus and its fingerprint, steps,
minutes, precision) and rewritten whenever an evaluation is recorded in ``evaluations.json``
(``textvae evaluate vae``, ``textvae tune``, the benchmarks' test scores) or ``textvae tune``
saves transfer defaults (:func:`textvae.modeldir.write_card`, :func:`textvae.modeldir.record_evaluation`).
Everything on it is read from the directory's own files.

Upload a model directory to the hub (online)::

    huggingface-cli upload OWNER/NAME runs/yelp_ibt_transformer/model .

and load it anywhere with ``textvae.load("hf://OWNER/NAME")`` (or ``--model hf://OWNER/NAME``).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import yaml


CARD_FILE = "README.md"
EVALUATIONS_FILE = "evaluations.json"


def _model_class(meta: Dict[str, Any]):
    from textvae.models import model_class

    try:
        return model_class(meta["config"]["model"]["type"])
    except Exception:  # an unknown type still gets a card
        return None


def render_card(meta: Dict[str, Any], evaluations: List[Dict[str, Any]], tuned: Dict[str, Any] = None) -> str:
    """The card's text from a model directory's ``config.json`` content, its evaluations and its
    tuned transfer defaults."""
    config, stats = meta["config"], meta.get("stats", {})
    model_type, styles = config["model"]["type"], meta.get("label_names", [])
    cls = _model_class(meta)
    transfer = bool(cls is not None and cls.can_transfer)
    front = {"library_name": "textvae", "tags": ["textvae", model_type] + (["style-transfer"] if transfer else []),
             "language": ["en"]}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# {config.get('name', 'textvae model')}", ""]
    module = sys.modules.get(cls.__module__) if cls is not None else None  # its docstring cites the paper
    what = " ".join(((module.__doc__ or "") if module is not None else "").strip().split("\n\n")[0].split())
    lines += [f"A textvae `{model_type}` model" + (f": {what}" if what else "."), ""]
    lines += ["## Training", "",
              f"- recipe: `{config.get('name')}` (the resolved recipe is in `config.json`)",
              f"- corpus: `{stats.get('corpus', config['data'].get('path'))}`, fingerprint "
              f"`{stats.get('corpus_fingerprint', '?')}`, {stats.get('train_sentences', '?')} training sentences",
              f"- styles: {', '.join(styles) if styles else 'none'}",
              f"- steps: {stats.get('step', '?')}, minutes: "
              + (f"{stats['minutes']:.1f}" if isinstance(stats.get("minutes"), (int, float)) else "?")
              + f", precision: {stats.get('precision', '?')}, textvae {meta.get('textvae_version', '?')}", ""]
    lines += ["## Use", "", "```", "pip install textvae"]
    if transfer:
        lines.append(f"echo \"SENTENCE\" | textvae transfer --model DIR --to {styles[-1]}")
        lines.append("textvae serve --model DIR        # a local web page")
    else:
        lines.append("echo \"SENTENCE\" | textvae reconstruct --model DIR")
    lines += ["```", "", "```python", "import textvae", "model = textvae.load(\"DIR\")  # or \"hf://OWNER/NAME\""]
    lines += [f"model.transfer([\"...\"], to=\"{styles[-1]}\")" if transfer else "model.encode([\"...\"])", "```", ""]
    if tuned:
        settings = ", ".join(f"{k} {v}" for k, v in tuned.get("settings", {}).items())
        dev = tuned.get("dev", {})
        lines += ["## Transfer defaults", "",
                  f"`textvae tune` on {tuned.get('date', '?')} ({tuned.get('split', 'dev')}, "
                  f"{tuned.get('sentences', '?')} sentences) chose: {settings}.",
                  f"Rule: {tuned.get('rule', '?')}. Dev figures: "
                  + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in dev.items()) + ".",
                  "Transfer uses these unless an option overrides them.", ""]
    lines += ["## Evaluations", ""]
    if evaluations:
        lines += ["| date | evaluation | split | scores | details |", "|---|---|---|---|---|"]
        for r in evaluations:
            scores = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in r["scores"].items())
            details = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("kind", "split", "date", "scores"))
            lines.append(f"| {r['date']} | {r['kind']} | {r['split']} | {scores} | {details} |")
    else:
        lines.append("None recorded yet (`textvae evaluate vae`, `textvae tune` and the benchmarks add them here).")
    lines += ["", "## Intended use and limits", "",
              "For research on sentence representations and text style transfer, and for demos. The model "
              f"knows only what its corpus (`{stats.get('corpus', '?')}`) contains: its vocabulary, its domain and "
              "its biases; it writes short sentences like the corpus', may change facts or meaning while "
              "changing style, and may produce offensive text the corpus contains. Transfer accuracy comes "
              "from an automatic judge, which can be fooled; read outputs before using them.", ""]
    return "\n".join(lines)
