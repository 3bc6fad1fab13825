"""Self-describing model directories and resumable training checkpoints.

A model directory alone is enough to reload, transfer and evaluate::

    config.json        format name and version, the resolved recipe, label names,
                       tokenizer ids and any statistics the model needs at inference
    model.safetensors  the weights
    tokenizer.model    the sentencepiece model

A training checkpoint is a model directory plus ``trainer_state.pt`` (optimizer
states, step, epoch, position in the epoch, RNG states, early-stopping state).
Both are written to a temporary directory and renamed, so a crash never leaves a
half-written one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
from safetensors.torch import load_model as load_safetensors
from safetensors.torch import save_model as save_safetensors

import textvae
from textvae.config import Config, from_dict
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, TOKENIZER_FILE, UNK_ID, Tokenizer
from textvae.errors import TextvaeError
from textvae.io import atomic_directory

FORMAT_NAME = "textvae"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TRAINER_STATE_FILE = "trainer_state.pt"
MODEL_SUBDIR = "model"  # inside a run directory: the model to use (best on dev, or last)
CHECKPOINT_SUBDIR = "checkpoint"  # inside a run directory: the resumable state


@dataclass
class ModelBundle:
    """Everything a model directory holds, loaded."""

    model: torch.nn.Module
    config: Config
    tokenizer: Tokenizer
    label_names: List[str]
    stats: Dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None


def save_model_dir(path: Union[str, Path], model: torch.nn.Module, config: Config, tokenizer: Tokenizer,
                   label_names: List[str], stats: Optional[Dict[str, Any]] = None,
                   trainer_state: Optional[Dict[str, Any]] = None) -> Path:
    """Write a model directory (plus trainer state when given) atomically."""
    path = Path(path)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "textvae_version": textvae.__version__,
        "label_names": list(label_names),
        "tokenizer": {"file": TOKENIZER_FILE, "vocab_size": len(tokenizer),
                      "pad_id": PAD_ID, "unk_id": UNK_ID, "bos_id": BOS_ID, "eos_id": EOS_ID},
        "stats": stats or {},
        "config": config.to_dict(),
    }
    with atomic_directory(path) as tmp:
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        save_safetensors(model, str(tmp / WEIGHTS_FILE))
        (tmp / TOKENIZER_FILE).write_bytes(tokenizer.model_proto)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER_STATE_FILE)
    return path


def resolve_model_dir(path: Union[str, Path]) -> Path:
    """Accept a model directory or a run directory (which holds ``model/``)."""
    path = Path(path)
    if not path.exists():
        raise TextvaeError(f"model directory {path} does not exist")
    if (path / CONFIG_FILE).is_file():
        return path
    for sub in (MODEL_SUBDIR, CHECKPOINT_SUBDIR):
        if (path / sub / CONFIG_FILE).is_file():
            return path / sub
    raise TextvaeError(f"{path} is not a textvae model directory (no {CONFIG_FILE}); "
                       "pass the --out directory of `textvae train` or its model/ folder")


def read_meta(path: Path) -> Dict[str, Any]:
    try:
        meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TextvaeError(f"cannot read {path / CONFIG_FILE}: {exc}") from None
    if meta.get("format") != FORMAT_NAME:
        raise TextvaeError(f"{path} is not a textvae checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise TextvaeError(f"checkpoint {path} has format version {version}, but textvae "
                           f"{textvae.__version__} reads version {FORMAT_VERSION}; use a matching textvae")
    return meta


def load_model_dir(path: Union[str, Path], device: Union[str, torch.device, None] = "cpu") -> ModelBundle:
    """Load a model directory (or run directory) onto ``device``, in eval mode."""
    from textvae.models import build_model

    path = resolve_model_dir(path)
    meta = read_meta(path)
    config = from_dict(Config, meta["config"])
    tokenizer = Tokenizer.load(path / TOKENIZER_FILE)
    model = build_model(config.model, len(tokenizer), num_labels=len(meta["label_names"]))
    try:
        missing, unexpected = load_safetensors(model, str(path / WEIGHTS_FILE), strict=False)
    except (OSError, RuntimeError) as exc:
        raise TextvaeError(f"cannot load weights from {path / WEIGHTS_FILE}: {exc}") from None
    if missing or unexpected:
        raise TextvaeError(f"weights in {path} do not match the model in its config.json "
                           f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    model.to(device if device is not None else "cpu").eval()
    return ModelBundle(model, config, tokenizer, list(meta["label_names"]), meta.get("stats", {}), path)


def load_trainer_state(path: Union[str, Path]) -> Dict[str, Any]:
    file = Path(path) / TRAINER_STATE_FILE
    if not file.is_file():
        raise TextvaeError(f"no resumable checkpoint at {path} (missing {TRAINER_STATE_FILE})")
    return torch.load(file, map_location="cpu", weights_only=False)
