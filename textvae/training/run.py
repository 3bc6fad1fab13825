"""From a recipe to a trained model directory: the body of ``textvae train``."""

from __future__ import annotations

import json
import logging
import random
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from textvae.config import Config, from_dict
from textvae.data.batching import BatchSchedule, bucket_batches, collate
from textvae.data.corpus import load_corpus
from textvae.data.tokenizer import TOKENIZER_FILE, Tokenizer, train_tokenizer
from textvae.errors import TextvaeError
from textvae.evaluation.reconstruction import evaluate_reconstruction
from textvae.io import atomic_write_text
from textvae.models import build_model
from textvae.training.checkpoint import (CHECKPOINT_SUBDIR, WEIGHTS_FILE, load_trainer_state,
                                         save_model_dir)
from textvae.training.distributed import barrier, cleanup, init_distributed, pick_device
from textvae.training.trainer import Trainer

log = logging.getLogger("textvae")

RECIPE_FILE = "recipe.yaml"
RESULT_FILE = "result.json"
# Sections whose change makes a checkpoint unusable for resuming.
FROZEN_SECTIONS = ("data", "tokenizer", "model")


def prepare_out_dir(out: Path, resume: bool, force: bool, config: Config) -> None:
    """Refuse to clobber an earlier run; check a resumed run matches its recipe."""
    if resume:
        if not (out / CHECKPOINT_SUBDIR / WEIGHTS_FILE).is_file():
            raise TextvaeError(f"--resume: {out} has no checkpoint to resume from; train without --resume")
        saved = from_dict(Config, _read_yaml(out / RECIPE_FILE))
        for section in FROZEN_SECTIONS:
            if getattr(saved, section) != getattr(config, section):
                raise TextvaeError(f"--resume: the recipe's '{section}' section differs from the one {out} "
                                   "was trained with; only train.* settings may change on resume")
        for leftover in out.glob(".*.tmp"):  # a directory half-written when the run was killed
            shutil.rmtree(leftover, ignore_errors=True)
        return
    if out.exists() and any(out.iterdir()):
        if not force:
            raise TextvaeError(f"output directory {out} already exists; pass --resume to continue it "
                               "or --force to overwrite it")
        shutil.rmtree(out)


def _read_yaml(path: Path) -> Dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def train(config: Config, out: Path, resume: bool = False, force: bool = False) -> Dict[str, Any]:
    """Train the model a config describes; returns a summary (also saved as ``result.json``)."""
    out = Path(out)
    device = pick_device(config.train.device)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    dist_info = init_distributed(device)
    try:
        if dist_info.is_main:
            prepare_out_dir(out, resume, force, config)
        corpus = _load_corpus(config, dist_info)  # bad data fails before anything is written
        if dist_info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / RECIPE_FILE, config.to_yaml())
        barrier(dist_info)
        return _train(config, corpus, out, resume, device, dist_info)
    finally:
        cleanup(dist_info)


def _load_corpus(config: Config, dist_info):
    data = config.data
    corpus = load_corpus(data.path, text_column=data.text_column, label_column=data.label_column,
                         label_names=data.label_names, max_tokens=data.max_tokens)
    for reason, count in corpus.skipped.items():
        if count and dist_info.is_main:
            log.warning("skipped %d %s lines in %s", count, reason, data.path)
    return corpus


def _train(config: Config, corpus, out: Path, resume: bool, device: torch.device, dist_info) -> Dict[str, Any]:
    if resume:
        tokenizer = Tokenizer.load(out / CHECKPOINT_SUBDIR / TOKENIZER_FILE)
    else:
        if dist_info.is_main:  # rank 0 trains and caches; the others then read the cache
            tokenizer = train_tokenizer(corpus.texts("train"), config.tokenizer)
        barrier(dist_info)
        if not dist_info.is_main:
            tokenizer = train_tokenizer(corpus.texts("train"), config.tokenizer)
    if len(tokenizer) < config.tokenizer.vocab_size and dist_info.is_main:
        log.warning("using a vocabulary of %d pieces, all that the corpus supports (the recipe asked for %d)",
                    len(tokenizer), config.tokenizer.vocab_size)

    train_ids = tokenizer.encode(corpus.texts("train"))
    train_labels = corpus.labels("train")
    schedule = BatchSchedule([len(s) for s in train_ids], config.train.max_tokens, config.train.max_sentences,
                             seed=config.seed, shuffle=True, rank=dist_info.rank, world_size=dist_info.world_size)

    def make_batch(indices):
        return collate([train_ids[i] for i in indices], [train_labels[i] for i in indices], indices)

    dev_batches = _eval_batches(corpus, "dev", tokenizer, config)
    torch.manual_seed(config.seed)  # the same initial weights on every rank and every run
    model = build_model(config.model, len(tokenizer), num_labels=len(corpus.label_names)).to(device)
    stats = {"corpus": corpus.source, "corpus_fingerprint": corpus.fingerprint,
             "train_sentences": len(train_ids)}

    def save(path: Path, trainer_state: Optional[dict]) -> None:
        save_model_dir(path, model, config, tokenizer, corpus.label_names, stats, trainer_state)

    evaluate = (lambda m: evaluate_reconstruction(m, dev_batches, device)) if dev_batches else None
    trainer = Trainer(model, config.train, schedule, make_batch, out, save, evaluate, dist_info, device)
    if resume:
        _load_weights(model, out / CHECKPOINT_SUBDIR / WEIGHTS_FILE)
        trainer.load_trainer_state(load_trainer_state(out / CHECKPOINT_SUBDIR))
        _truncate_metrics(out / "metrics.jsonl", trainer.state["step"], dist_info.is_main)
    else:
        torch.manual_seed(config.seed + dist_info.rank)  # dropout and noise differ between ranks
    result = trainer.fit()
    result.update(out=str(out), model=str(out / "model"), world_size=dist_info.world_size)
    test_batches = _eval_batches(corpus, "test", tokenizer, config)
    if test_batches:  # tune on dev, report on test: the saved model on the held-out split
        _load_weights(model, out / "model" / WEIGHTS_FILE)
        result["test"] = evaluate_reconstruction(model, test_batches, device)
    if dist_info.is_main:
        atomic_write_text(out / RESULT_FILE, json.dumps(result, indent=2) + "\n")
    return result


def _eval_batches(corpus, split: str, tokenizer, config: Config):
    """Batches of (a fixed random subset of) an evaluation split, every label represented."""
    if split not in corpus.datasets:
        return []
    texts, labels = corpus.texts(split), corpus.labels(split)
    keep = range(len(texts))
    limit = config.train.eval_max_sentences
    if limit is not None and limit < len(texts):
        keep = sorted(random.Random(config.seed).sample(keep, limit))
    ids = tokenizer.encode([texts[i] for i in keep])
    labels = [labels[i] for i in keep]
    return [collate([ids[i] for i in indices], [labels[i] for i in indices], indices)
            for indices in bucket_batches([len(s) for s in ids], config.train.max_tokens,
                                          config.train.max_sentences)]


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import load_model

    load_model(model, str(path))


def _truncate_metrics(path: Path, step: int, is_main: bool) -> None:
    """Drop records logged after the checkpoint we resume from, so curves have no doubled steps."""
    if not is_main or not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))
