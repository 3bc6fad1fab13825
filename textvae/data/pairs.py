"""Pseudo-parallel pairs for distilled reranking (issue 23): every training sentence with its
reranked transfer into another style, written by ``textvae distill`` in resumable chunks.

A pairs directory holds ``manifest.json`` (the model, the transfer settings, the corpus'
fingerprint, the chunk size), ``chunks/NNNNNNNN.jsonl`` (one file per chunk of training
sentences, each written atomically, so a killed run loses at most the chunk in progress) and,
when every chunk is there, ``pairs.jsonl``: one ``{"index", "source", "label", "target",
"output"}`` object a line, in training-split order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

from textvae.errors import TextvaeError

MANIFEST = "manifest.json"
PAIRS = "pairs.jsonl"
CHUNKS = "chunks"


def read_pairs(directory) -> List[Dict]:
    """The pairs of a finished pairs directory (refused in one line when it is not one)."""
    file = Path(directory) / PAIRS
    if not file.is_file():
        raise TextvaeError(f"{directory} has no {PAIRS}: make it with textvae distill (or finish it with --resume)")
    try:
        pairs = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
        for pair in pairs:
            for key in ("index", "source", "target", "output"):
                pair[key]  # noqa: B018 (every key must be there)
    except (ValueError, KeyError, TypeError) as exc:
        raise TextvaeError(f"{file} is not a textvae pairs file ({exc})") from None
    return pairs
