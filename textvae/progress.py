"""Progress bars for long commands: tqdm on stderr, off when stderr is not a terminal (pipes,
logs, CI) or with a command's ``--quiet``, so that output files and stdout never change."""

from __future__ import annotations

import sys
from typing import Optional

QUIET = False  # the CLI sets it from --quiet


def enabled() -> bool:
    return not QUIET and sys.stderr.isatty()


def bar(total: Optional[int] = None, desc: str = "", unit: str = "sentence"):
    """A tqdm bar (a no-op one when progress is off); its rate reads as units per second."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled(), dynamic_ncols=True)
