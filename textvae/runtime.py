"""Process-wide settings that make long CPU jobs faster.

glibc serves every allocation above its mmap threshold (at most 32 MB on 64-bit Linux) with a
fresh ``mmap`` and hands it back to the system on ``free``, so a step that allocates a large
tensor (a batch of full-vocabulary logits: 1,280 x 9,518 floats in a batched beam step is 49 MB)
page-faults the whole block in again every time. PyTorch's CPU allocator does not cache, so on
this kind of step the page faults cost more than the arithmetic: ``logsumexp`` over those logits
took 86 ms with the default and 38 ms with freed memory kept in the heap (CPU-2, one thread).
:func:`keep_freed_memory` turns ``mmap`` off for ``malloc`` and raises the trim threshold, the
same effect as ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` in the environment.

The ``textvae`` command and :func:`textvae.training.train` call it; library users decoding at
scale from Python can call it themselves. Nothing happens on other C libraries, or when the
environment sets ``TEXTVAE_KEEP_MALLOC=1`` (leave the allocator as it is).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger("textvae")

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters (glibc malloc.h)
_TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed memory at the top of the heap
_done = False


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for reuse (glibc only; once per process). Returns
    whether the setting is in effect."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("TEXTVAE_KEEP_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    _done = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    log.debug("malloc keeps freed memory: %s", _done)
    return _done


def compile_unavailable(device) -> "str | None":
    """Why ``torch.compile`` cannot run on ``device`` (None: it can): dynamo unsupported on this
    Python, or no C++ compiler for the CPU backend. Training (``train.compile``) and decoding
    (``--compile``) refuse in one line with this reason."""
    import shutil

    import torch

    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported on this Python and torch"
    if torch.device(device).type == "cpu" and not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        return "torch.compile's CPU backend needs a C++ compiler (g++ or clang++) on PATH"
    return None
