"""The model-directory format: a saved model is self-describing.

A model directory alone is enough to reload, transfer and evaluate::

    config.json        format name and version, the resolved recipe, label names,
                       tokenizer ids and any statistics the model needs at inference
    model.safetensors  the weights (buffers such as mean style vectors included)
    tokenizer.model    the sentencepiece model (or the parts a model saves itself,
                       e.g. a pretrained backbone's tokenizer and architecture)

A training checkpoint is a model directory plus ``trainer_state.pt`` (see
:mod:`textvae.training.checkpoint`). Both are written to a temporary directory and renamed,
so a crash never leaves a half-written one. Loading needs neither the trainer nor `datasets`.

Format versions: 2 (this one) saves only the sections of the model's own config; version 1
saved every model's sections under one ``model`` entry and is converted when read.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from textvae._version import __version__
from textvae.config import Config, from_dict, model_config_class
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, TOKENIZER_FILE, UNK_ID, Tokenizer
from textvae.errors import TextvaeError
from textvae.io import atomic_directory, atomic_write_text, default_mode
from textvae.modelcard import CARD_FILE, EVALUATIONS_FILE, render_card
from textvae.models import build_model, model_class

FORMAT_NAME = "textvae"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TRAINER_STATE_FILE = "trainer_state.pt"
TRANSFER_DEFAULTS_FILE = "transfer_defaults.json"  # written by `textvae tune` (textvae.transfer.defaults)
MODEL_SUBDIR = "model"  # inside a run directory: the model to use (best on dev, or last)
CHECKPOINT_SUBDIR = "checkpoint"  # inside a run directory: the resumable state


@dataclass
class ModelBundle:
    """Everything a model directory holds, loaded."""

    model: torch.nn.Module  # a textvae.models.base.Model
    config: Config
    tokenizer: Tokenizer
    label_names: List[str]
    stats: Dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None


def _tied_names(state: Dict[str, torch.Tensor]) -> Dict[str, str]:
    """Each name of a state dict -> the first name holding the very same tensor (tied weights).

    Distinct views of one storage are not tied: cuDNN keeps an RNN's weights as views of one
    flat buffer, which ``safetensors.torch.save_model``/``load_model`` refuse for a model on a GPU.
    """
    first: Dict[tuple, str] = {}
    names: Dict[str, str] = {}
    for name, tensor in state.items():
        key = (tensor.device, tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tensor.stride())
        names[name] = first.setdefault(key, name) if tensor.numel() else name
    return names


def save_weights(model: torch.nn.Module, file: Path) -> None:
    """The model's weights as safetensors, each tensor stored once in its own buffer; tied
    weights under their first name only, as ``safetensors.torch.save_model`` writes them."""
    state = model.state_dict()
    tied = _tied_names(state)
    tensors = {name: state[name].detach().to("cpu", copy=True).contiguous()
               for name, first in tied.items() if first == name}
    aliases = {name: first for name, first in tied.items() if first != name}
    save_file(tensors, str(file), metadata=aliases or None)
    default_mode(Path(file), directory=False)  # safetensors writes 0600; others may load a shared model


def load_weights(model: torch.nn.Module, file: Path, what: str = "the model") -> None:
    """Copy weights from a safetensors file into ``model`` in place (its layout, e.g. a cuDNN
    flat buffer, is kept); a tied weight counts as present when any of its names is in the file.
    Names missing from the file or unknown to the model are a :class:`TextvaeError`."""
    tensors = load_file(str(file))
    tied = _tied_names(model.state_dict())
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    present = {tied[name] for name in tensors if name in tied}
    missing = [name for name in missing if tied[name] not in present]
    if missing or unexpected:
        raise TextvaeError(f"weights in {file} do not match {what} "
                           f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")


def save_model_dir(path: Union[str, Path], model: torch.nn.Module, config: Config, tokenizer: Tokenizer,
                   label_names: List[str], stats: Optional[Dict[str, Any]] = None,
                   trainer_state: Optional[Dict[str, Any]] = None) -> Path:
    """Write a model directory (plus trainer state when given) atomically."""
    path = Path(path)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "textvae_version": __version__,
        "label_names": list(label_names),
        "tokenizer": {"type": "sentencepiece" if isinstance(tokenizer, Tokenizer) else "transformers",
                      "file": TOKENIZER_FILE if isinstance(tokenizer, Tokenizer) else "decoder",
                      "vocab_size": len(tokenizer),
                      "pad_id": PAD_ID, "unk_id": UNK_ID, "bos_id": BOS_ID, "eos_id": EOS_ID},
        "stats": stats or {},
        "config": config.to_dict(),
    }
    with atomic_directory(path) as tmp:
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        save_weights(model, tmp / WEIGHTS_FILE)
        if isinstance(tokenizer, Tokenizer):
            (tmp / TOKENIZER_FILE).write_bytes(tokenizer.model_proto)
        model.save_parts(tmp)  # e.g. pretrained backbones' architectures and tokenizers
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER_STATE_FILE)
        else:  # a model to use gets its card (checkpoints are for resuming)
            write_card(tmp, meta)
    return path


HUB_PREFIX = "hf://"


def hub_snapshot(name: str) -> Path:
    """The local snapshot of the hub repository ``OWNER/NAME[@REVISION]`` (downloaded once, then
    read from the Hugging Face cache; offline, ``HF_HUB_OFFLINE=1`` uses the cache only)."""
    repo, _, revision = name.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise TextvaeError(f"{HUB_PREFIX}{name}: a hub model is {HUB_PREFIX}OWNER/NAME (optionally @REVISION)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id=repo, revision=revision or None))
    except (LocalEntryNotFoundError, RepositoryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        raise TextvaeError(f"cannot get the hub model {repo}: {one_line(exc)} (offline, it must be in the "
                           "Hugging Face cache)") from None


def resolve_model_dir(path: Union[str, Path]) -> Path:
    """Accept a model directory, a run directory (which holds ``model/``) or ``hf://OWNER/NAME``,
    a model directory uploaded to the Hugging Face hub (see :mod:`textvae.modelcard`)."""
    if str(path).startswith(HUB_PREFIX):
        path = hub_snapshot(str(path)[len(HUB_PREFIX):])
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
    file = path / CONFIG_FILE
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TextvaeError(f"cannot read {file}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise TextvaeError(f"{path} is not a textvae checkpoint ({file} does not say format 'textvae')")
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise TextvaeError(f"checkpoint {path} has format version {version}, but textvae {__version__} reads "
                           f"versions {', '.join(map(str, READABLE_VERSIONS))}; use the textvae that wrote it "
                           f"(textvae {meta.get('textvae_version', 'unknown')})")
    for key, kind in (("config", dict), ("label_names", list)):
        if not isinstance(meta.get(key), kind):
            raise TextvaeError(f"{file} has no valid {key!r} entry; the checkpoint is incomplete or was edited by hand")
    return meta


def upgrade_v1_config(config: Dict[str, Any]) -> Dict[str, Any]:
    """A format-1 config as format 2 writes it: the split-latent model was ``seq2seq`` with
    ``style.dim > 0`` and is now its own type, and every model carried every model's sections
    (the ones it did not use at their defaults), of which only its own are kept."""
    config = dict(config)
    model = dict(config.get("model") or {})
    kind = model.get("type", "seq2seq")
    if kind == "seq2seq" and (model.get("style") or {}).get("dim", 0) > 0:
        kind = model["type"] = "disentangled"
    try:
        own = {f.name for f in dataclasses.fields(model_config_class(kind))}
    except TextvaeError:
        return config  # the type is unknown: the normal error follows
    config["model"] = {key: value for key, value in model.items() if key in own}
    return config


def _read_config(path: Path, meta: Dict[str, Any]) -> Config:
    """The saved recipe; one that does not parse is most likely from another textvae version."""
    data = meta["config"] if meta["format_version"] == FORMAT_VERSION else upgrade_v1_config(meta["config"])
    try:
        return from_dict(Config, data)
    except TextvaeError as exc:
        saved = meta.get("textvae_version", "unknown")
        if saved == __version__:
            raise TextvaeError(f"{path / CONFIG_FILE} holds an invalid config: {exc}") from None
        raise TextvaeError(f"checkpoint {path} was written by textvae {saved} and this is textvae "
                           f"{__version__}, which cannot read its config ({exc}); "
                           f"use textvae {saved}") from None


def one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def load_model_dir(path: Union[str, Path], device: Union[str, torch.device, None] = "cpu") -> ModelBundle:
    """Load a model directory (or run directory) onto ``device``, in eval mode."""
    path = resolve_model_dir(path)
    meta = read_meta(path)
    config = _read_config(path, meta)
    config.model, tokenizer = model_class(config.model.type).load_parts(config.model, path)
    if tokenizer is None:
        try:
            tokenizer = Tokenizer.load(path / TOKENIZER_FILE)
        except RuntimeError:  # sentencepiece's error for bytes that are not a model
            raise TextvaeError(f"{path / TOKENIZER_FILE} is corrupt (not a sentencepiece model)") from None
    model = build_model(config.model, len(tokenizer), num_labels=len(meta["label_names"]), tokenizer=tokenizer,
                        label_names=meta["label_names"])
    try:
        load_weights(model, path / WEIGHTS_FILE, what="the model in its config.json")
    except (OSError, RuntimeError, SafetensorError) as exc:
        raise TextvaeError(f"cannot load weights from {path / WEIGHTS_FILE}: {one_line(exc)}") from None
    model.to(device if device is not None else "cpu").eval()
    return ModelBundle(model, config, tokenizer, list(meta["label_names"]), meta.get("stats", {}), path)


# --------------------------------------------------------------------------- model cards


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_evaluations(model_dir: Path) -> List[Dict[str, Any]]:
    records = _read_json(Path(model_dir) / EVALUATIONS_FILE, [])
    return records if isinstance(records, list) else []


def record_evaluation(model_dir: Path, kind: str, split: str, scores: Dict[str, Any], **details) -> None:
    """Add an evaluation of the model (``kind``: vae, tune, transfer, ...) with its headline
    ``scores`` (name -> number) and rewrite the card. A later record of the same kind, split and
    details replaces the earlier one."""
    model_dir = Path(model_dir)
    record = {"kind": kind, "split": split, "date": datetime.date.today().isoformat(),
              "scores": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in scores.items()}, **details}
    key = lambda r: (r.get("kind"), r.get("split"), json.dumps({k: v for k, v in r.items()  # noqa: E731
                                                               if k not in ("date", "scores")}, sort_keys=True))
    records = [r for r in read_evaluations(model_dir) if key(r) != key(record)] + [record]
    atomic_write_text(model_dir / EVALUATIONS_FILE, json.dumps(records, indent=1) + "\n")
    write_card(model_dir)


def write_card(model_dir: Path, meta: Dict[str, Any] = None) -> None:
    """(Re)write ``MODEL/README.md`` from the directory's files (``meta``: its config.json content,
    when it is not on disk yet)."""
    model_dir = Path(model_dir)
    meta = meta if meta is not None else _read_json(model_dir / CONFIG_FILE, None)
    if meta is None:
        return
    tuned = _read_json(model_dir / TRANSFER_DEFAULTS_FILE, None)
    atomic_write_text(model_dir / CARD_FILE, render_card(meta, read_evaluations(model_dir), tuned))
