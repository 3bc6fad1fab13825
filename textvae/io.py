"""Atomic file and directory writes: nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Union

from textvae.errors import TextvaeError

PathLike = Union[str, os.PathLike]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; give them the modes a plain
    ``open``/``mkdir`` would have, so models and reports stay readable by others."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        default_mode(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(target: PathLike) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``target`` as a whole.

    An existing ``target`` is swapped out only after the new one is complete, so a
    crash leaves either the old directory or the new one, never a mixture.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    default_mode(tmp, directory=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for file in tmp.rglob("*"):  # on disk before the rename makes them visible
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
    old = _old_name(target)
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)  # a crash right before this leaves `old`: see recover_directory
    shutil.rmtree(old, ignore_errors=True)


def _old_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def recover_directory(target: PathLike) -> None:
    """Finish an :func:`atomic_directory` swap that a crash interrupted between its two renames."""
    target = Path(target)
    old = _old_name(target)
    if not target.exists() and old.is_dir():
        os.replace(old, target)


def remove_leftovers(directory: PathLike) -> None:
    """Delete the temporary files and directories that interrupted atomic writes left behind."""
    for leftover in Path(directory).glob(".*.tmp"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def check_writable(path: PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing, non-empty output unless ``force`` is set."""
    path = Path(path)
    if path.exists() and not force and (path.is_file() or any(path.iterdir())):
        raise TextvaeError(f"{path} already exists; pass --force to overwrite it")
    return path


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
