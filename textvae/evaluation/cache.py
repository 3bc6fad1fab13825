"""Evaluation artefacts (judges, word vectors, fluency LMs) trained once per corpus and cached.

Each lives in ``$TEXTVAE_CACHE/<kind>/<key>`` (default ``~/.cache/textvae``), where the key
hashes the corpus content and the artefact's settings: a changed corpus or setting trains a
new one, and the same inputs always load the same files, so two evaluations agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional, Tuple, TypeVar

from textvae.io import atomic_directory

log = logging.getLogger("textvae")

T = TypeVar("T")


def cache_root() -> Path:
    return Path(os.environ.get("TEXTVAE_CACHE") or Path.home() / ".cache" / "textvae")


def artefact_dir(kind: str, corpus, settings, cache_dir: Optional[Path] = None) -> Path:
    """Where the ``kind`` artefact of ``corpus`` with dataclass ``settings`` is cached."""
    key = hashlib.sha256(json.dumps([corpus.fingerprint, asdict(settings)]).encode()).hexdigest()[:20]
    return (cache_dir or cache_root() / kind) / key


def cached(directory: Path, marker: str, build: Callable[[Path], T], load: Callable[[Path], T],
           what: str = "") -> Tuple[T, bool]:
    """Load the artefact in ``directory`` (it exists once ``marker`` does), or build it into a
    temporary directory that replaces ``directory`` only when complete (saying so, with ``what``
    it is and how long it takes). Returns ``(artefact, loaded)``."""
    if (directory / marker).exists():
        return load(directory), True
    if what:
        log.info("building %s the first time (cached in %s for next time)", what, directory)
    with atomic_directory(directory) as tmp:
        artefact = build(tmp)
    return artefact, False


def quiet_fasttext():
    """The fasttext module, without its "load_model does not return WordVectorModel" notice."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext
