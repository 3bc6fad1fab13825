"""A model's own transfer settings: what ``textvae transfer``, the Python API, the interactive
session and the web page use when the caller leaves a setting out.

Three layers, the first that sets a key wins: what the caller passes; the settings ``textvae tune``
chose on dev (``transfer_defaults.json`` in the model directory, with the rule, the dev figures
and the date); the recipe's ``transfer`` section (stored in ``config.json``). Below them the
built-in defaults (strength 1, greedy decoding, no reranking).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from textvae.config import TransferConfig, from_dict
from textvae.errors import TextvaeError
from textvae.io import atomic_write_text
from textvae.modeldir import TRANSFER_DEFAULTS_FILE, write_card

BUILT_IN: Dict[str, Any] = {"strength": 1.0, "strategy": "greedy", "beam_size": 5, "length_penalty": 1.0,
                            "samples": 0, "top_p": 1.0, "pool_strengths": [], "rerank": 0.0, "rerank_cycle": 0.0,
                            "rerank_lm": 0.0, "lm": None, "scorer": None}
MODELS_KEYS = ("lm", "scorer")  # settings that name another model (a directory or a loaded model)
RERANK_KEYS = ("rerank", "rerank_cycle", "rerank_lm")
DECODING_KEYS = ("strategy", "beam_size", "length_penalty", "samples", "top_p", "pool_strengths")


def read_tuned(model_dir: Path) -> Optional[Dict[str, Any]]:
    """The tuned record of a model directory (``settings`` checked as a recipe's ``transfer``
    section), or None when ``textvae tune`` has not written one."""
    file = Path(model_dir) / TRANSFER_DEFAULTS_FILE
    if not file.is_file():
        return None
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        settings = record["settings"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise TextvaeError(f"{file} is not a textvae transfer-defaults file ({exc}); run textvae tune again or "
                           "delete it") from None
    record["settings"] = from_dict(TransferConfig, settings, f"{TRANSFER_DEFAULTS_FILE} settings").settings()
    return record


def model_defaults(model_dir: Optional[Path], recipe: TransferConfig) -> Tuple[Dict[str, Any], str]:
    """``(settings, where they come from)``: the tuned ones over the recipe's."""
    tuned = read_tuned(model_dir) if model_dir is not None else None
    settings = {**recipe.settings(), **(tuned["settings"] if tuned else {})}
    if tuned:
        dev = tuned.get("dev", {})
        where = (f"tuned on {tuned.get('split', 'dev')} on {tuned.get('date', '?')} "
                 f"(accuracy {dev.get('accuracy', float('nan')):.1f}, self-BLEU {dev.get('self_bleu', float('nan')):.1f})")
    else:
        where = "the recipe" if settings else "built-in"
    return settings, where


def resolve(defaults: Dict[str, Any], explicit: Dict[str, Any]) -> Dict[str, Any]:
    """Every setting: ``explicit`` (None: not given) over ``defaults`` over :data:`BUILT_IN`.

    The defaults' reranking weights belong to beam search: when the caller picks another strategy
    and sets no weight, they are dropped, so ``--strategy greedy`` alone gives plain greedy output;
    the defaults' sampled candidates and pooled strengths belong to reranking and are dropped with it."""
    given = {k: v for k, v in explicit.items() if v is not None}
    settings = {**BUILT_IN, **defaults, **given}
    if settings["strategy"] != "beam" and "strategy" in given:
        for key in RERANK_KEYS:
            if key not in given:
                settings[key] = 0.0
    if "samples" not in given and not (settings["strategy"] == "beam" and any(settings[k] for k in RERANK_KEYS)):
        settings["samples"] = 0
        if defaults.get("samples") and "top_p" not in given:  # the defaults' top-p was the samples'
            settings["top_p"] = BUILT_IN["top_p"]
    # the defaults' pool goes with their reranking and with their strength (another strength: no pool)
    if "pool_strengths" not in given and (not (settings["strategy"] == "beam" and any(settings[k] for k in RERANK_KEYS))
                                          or settings["strength"] != defaults.get("strength", BUILT_IN["strength"])):
        settings["pool_strengths"] = []
    pool = settings["pool_strengths"]
    if not isinstance(pool, (list, tuple)) or not all(isinstance(v, (int, float)) for v in pool):
        raise TextvaeError(f"transfer setting pool_strengths must be a list of strengths, e.g. [1.1], got {pool!r}")
    settings["pool_strengths"] = [float(v) for v in pool]  # a fresh list, never shared
    if "lm" not in given and not settings["rerank_lm"]:
        settings["lm"] = None
    if "scorer" not in given and not settings["rerank"]:
        settings["scorer"] = None
    check_settings(settings)
    return settings


def check_settings(settings: Dict[str, Any]) -> None:
    """Refuse a non-finite or out-of-range setting (negative strength or weights, ...) with its name,
    by the recipe section's own rules (a missing LM is reported where the LM is looked up)."""
    fields = TransferConfig(**{k: settings[k] for k in BUILT_IN if k not in MODELS_KEYS})
    for key, message in fields.check():
        if not message.startswith("needs"):
            raise TextvaeError(f"transfer setting {key} {message}")


def write_tuned(model_dir: Path, settings: Dict[str, Any], record: Dict[str, Any]) -> Path:
    """Write the tuned ``settings`` (checked) with their ``record`` (rule, dev figures, date, table)."""
    checked = from_dict(TransferConfig, settings, "tuned settings").settings()
    file = Path(model_dir) / TRANSFER_DEFAULTS_FILE
    atomic_write_text(file, json.dumps({"settings": checked, **record}, indent=1) + "\n")
    write_card(model_dir)
    return file
