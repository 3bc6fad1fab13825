"""Resumable training checkpoints: a model directory (:mod:`textvae.modeldir`) plus
``trainer_state.pt`` (optimizer states, step, epoch, position in the epoch, RNG states,
early-stopping state), written atomically with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Union

import torch

from textvae.errors import TextvaeError
from textvae.modeldir import TRAINER_STATE_FILE, one_line


def load_trainer_state(path: Union[str, Path]) -> Dict[str, Any]:
    file = Path(path) / TRAINER_STATE_FILE
    if not file.is_file():
        raise TextvaeError(f"no resumable checkpoint at {path} (missing {TRAINER_STATE_FILE})")
    try:
        state = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling a damaged file can fail with almost any exception type
        raise TextvaeError(f"cannot read {file} ({type(exc).__name__}: {one_line(exc)[:200]}); "
                           "the checkpoint is corrupt: start the run over with --force instead of --resume") from None
    if not isinstance(state, dict):
        raise TextvaeError(f"{file} does not hold a textvae trainer state; start the run over with --force")
    return state
