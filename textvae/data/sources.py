"""The download manifest ``sources.json``: each public corpus' release files, their URLs, the
names they get in textvae's format and their sha256 where known."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).with_name("sources.json")


def load_manifest() -> dict:
    """The parsed ``sources.json``: ``{"note": ..., "sources": {name: {...}}}``."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def known_sources() -> list[str]:
    return sorted(load_manifest()["sources"])
