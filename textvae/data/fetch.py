"""Download (or copy from a local release) the public Yelp and Amazon style-transfer corpora.

The manifest ``sources.json`` next to this file lists each release file's URL, the name it
gets in our format (``train.0``, ``reference.test.1``, ...) and its sha256 where known.
Files are fetched into a temporary directory, checked, and only then moved to ``dest``,
so a failed or corrupt download leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Union

from tqdm import tqdm

from textvae.data.corpus import load_corpus
from textvae.data.sources import load_manifest
from textvae.errors import TextvaeError
from textvae.io import atomic_directory, atomic_write_text, check_writable, sha256_file

log = logging.getLogger("textvae")

TIMEOUT_S = 30
_CHUNK = 1 << 16


def fetch(
    name: str,
    dest: Union[str, Path],
    from_dir: Union[str, Path, None] = None,
    force: bool = False,
) -> Path:
    """Put corpus ``name`` into ``dest`` in our format; return ``dest``.

    Downloads the release files, or copies them from ``from_dir`` (release names such as
    ``sentiment.train.0`` and ``reference.0``, or ours).  Every file with a known sha256 is
    verified, and a warning says when some are not; ``dest`` also gets ``labels.json`` and a
    ``SHA256SUMS`` of what was written.
    """
    sources = load_manifest()["sources"]
    if name not in sources:
        raise TextvaeError(f"unknown corpus {name!r}; known corpora: {', '.join(sorted(sources))}")
    source = sources[name]
    dest = check_writable(Path(dest).expanduser(), force)
    from_dir = Path(from_dir).expanduser() if from_dir is not None else None
    if from_dir is not None and not from_dir.is_dir():
        raise TextvaeError(f"--from directory {from_dir} does not exist; pass a directory holding the {name} release")
    origins = {}  # our file name -> the URL or file it came from, for messages
    unpinned = False
    with atomic_directory(dest) as tmp:
        for entry in source["files"]:
            target = tmp / entry["name"]
            if from_dir is None:
                where = entry["url"]
                _download(where, target)
            else:
                found = _local_copy(from_dir, entry)
                if found is None:
                    continue
                where = str(found)
                shutil.copyfile(found, target)
            _verify(target, entry.get("sha256"), where)
            origins[entry["name"]] = where
            unpinned = unpinned or entry.get("sha256") is None
            if entry["name"].startswith("reference."):
                _keep_rewrites(target)
        atomic_write_text(tmp / "labels.json", json.dumps(source["labels"], indent=2) + "\n")
        sums = "".join(f"{sha256_file(path)}  {path.name}\n" for path in sorted(tmp.iterdir()))
        atomic_write_text(tmp / "SHA256SUMS", sums)
        _check_loads(tmp, origins, from_dir)
    if unpinned:
        log.warning("checksums for %s are not pinned yet; recorded the files' SHA-256 in %s; "
                    "compare them with a trusted copy", name, dest / "SHA256SUMS")
    return dest


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(target, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=None) as progress:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    progress.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise TextvaeError(
            f"could not download {url} ({reason}); check your connection or copy a local release with --from DIR"
        ) from None


def _local_copy(from_dir: Path, entry: dict) -> Optional[Path]:
    """The file for ``entry`` under either naming; None for a missing (optional) reference."""
    release_name = entry["url"].rsplit("/", 1)[-1]
    for candidate in (from_dir / entry["name"], from_dir / release_name):
        if candidate.is_file():
            return candidate
    if entry["name"].startswith("reference."):
        return None
    raise TextvaeError(
        f"{from_dir} has neither {entry['name']} nor {release_name}; copy the complete release there"
    )


def _verify(path: Path, expected: Optional[str], where: str) -> None:
    if expected is None:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise TextvaeError(
            f"{where} has sha256 {actual[:12]}..., not {expected[:12]}... as the manifest says; "
            "the file is corrupt or not the published release, so nothing was written"
        )


def _keep_rewrites(path: Path) -> None:
    """Release references are ``source<TAB>rewrite`` lines; we keep the rewrite, so that line i
    of ``reference.test.0`` is the transfer of line i of ``test.0`` as in our own format."""
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    if lines != [""] and all("\t" in line for line in lines):
        atomic_write_text(path, "".join(line.split("\t", 1)[1] + "\n" for line in lines))


def _check_loads(directory: Path, origins: dict, from_dir) -> None:
    try:
        load_corpus(str(directory))
    except TextvaeError as error:
        origin = str(from_dir) if from_dir is not None else "the download"
        reason = str(error)
        for name, where in origins.items():  # name the files, not their copies in the temporary directory
            reason = reason.replace(str(directory / name), where)
        reason = reason.replace(str(directory), origin)
        raise TextvaeError(f"{origin} does not load as a corpus: {reason}") from None
