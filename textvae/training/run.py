"""From a recipe to a trained model directory: the body of ``textvae train``.

Everything that can fail on bad input (recipe, corpus, output directory, early-stopping
metric, time budget) is checked before the run directory is touched, on every rank, so a
mistake costs a one-line message and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import yaml

from textvae.config import Config, from_dict
from textvae.data.batching import BatchSchedule, collate, id_batches
from textvae.data.corpus import load_corpus
from textvae.data.tokenizer import TOKENIZER_FILE, Tokenizer, train_tokenizer
from textvae.errors import TextvaeError
from textvae.evaluation.reconstruction import evaluate_reconstruction
from textvae.io import atomic_write_text, recover_directory, remove_leftovers
from textvae.modeldir import CHECKPOINT_SUBDIR, MODEL_SUBDIR, WEIGHTS_FILE, load_weights, save_model_dir
from textvae.models import build_model, model_class
from textvae.models.base import TrainingData
from textvae.runtime import keep_freed_memory
from textvae.training.checkpoint import load_trainer_state
from textvae.training.distributed import any_rank, barrier, cleanup, init_distributed, pick_device
from textvae.training.trainer import Trainer, use_compile

log = logging.getLogger("textvae")

RECIPE_FILE = "recipe.yaml"
RESULT_FILE = "result.json"
METRICS_FILE = "metrics.jsonl"
# On resume only train.* (except what decides the batches) and transfer.* (used after training) may change.
FROZEN_TRAIN_KEYS = ("train.max_tokens", "train.max_sentences", "train.grad_accum", "train.batching")


def _flatten(data: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    flat: Dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _looks_like_run(out: Path) -> bool:
    return any((out / name).exists() for name in (RECIPE_FILE, CHECKPOINT_SUBDIR, MODEL_SUBDIR, METRICS_FILE))


@contextlib.contextmanager
def run_lock(out: Path):
    """One training per run directory: an exclusive ``flock`` on ``.NAME.lock`` next to it, which
    holds the training's PID. A second training is refused in one line naming that PID; the kernel
    drops the lock when its process dies, so a killed training leaves nothing stuck."""
    import fcntl

    lock = out.parent / f".{out.name}.lock"
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(lock, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise TextvaeError(f"another training (PID {pid}) is writing {out}; wait for it to finish or "
                               "stop it first") from None
        try:  # the file we locked may have been removed by the training before us: lock the new one
            same = os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


def has_checkpoint(out: Path) -> bool:
    return ((out / CHECKPOINT_SUBDIR / WEIGHTS_FILE).is_file()
            or (out / f".{CHECKPOINT_SUBDIR}.old" / WEIGHTS_FILE).is_file())


def check_out_dir(out: Path, resume: bool, force: bool, config: Config) -> None:
    """Read-only checks of the run directory (safe on every rank)."""
    if resume:
        if not (out / RECIPE_FILE).is_file():
            raise TextvaeError(f"--resume: {out} has no {RECIPE_FILE}; it is not a textvae run directory")
        try:
            saved = _flatten(from_dict(Config, yaml.safe_load((out / RECIPE_FILE).read_text("utf-8"))).to_dict())
        except (TextvaeError, yaml.YAMLError) as exc:
            raise TextvaeError(f"--resume: cannot read {out / RECIPE_FILE}: {exc}") from None
        for key, value in _flatten(config.to_dict()).items():
            frozen = not key.startswith(("train.", "transfer.")) or key in FROZEN_TRAIN_KEYS
            if frozen and key != "name" and saved.get(key) != value:
                raise TextvaeError(f"--resume: '{key}' is {value!r} here but {saved.get(key)!r} in "
                                   f"{out / RECIPE_FILE}; only train.* settings (except the batch sizes) "
                                   "and transfer.* may change on resume")
    elif out.exists() and not out.is_dir():
        raise TextvaeError(f"--out {out} is a file, not a directory; give a new or empty directory for the run")
    elif out.exists() and any(out.iterdir()):
        if not force:
            raise TextvaeError(f"output directory {out} already exists; pass --resume to continue it "
                               "or --force to overwrite it")
        if not _looks_like_run(out):
            raise TextvaeError(f"{out} is not empty and is not a textvae run directory; "
                               "refusing to delete it even with --force")


def check_train_config(config: Config) -> None:
    cfg = config.train
    if cfg.max_steps is None and cfg.max_epochs is None and cfg.max_minutes is None:
        raise TextvaeError("set train.max_steps, train.max_epochs or train.max_minutes; "
                           "without one, training never stops")


def train(config: Config, out: Path, resume: bool = False, force: bool = False) -> Dict[str, Any]:
    """Train the model a config describes; returns a summary (also saved as ``result.json``)."""
    out = Path(out)
    check_train_config(config)
    keep_freed_memory()
    device = pick_device(config.train.device)
    threads = torch.get_num_threads()  # train.threads holds for this run only, not for the caller after it
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    dist_info = init_distributed(device)
    try:
        failure: Optional[TextvaeError] = None
        try:
            check_out_dir(out, resume, force, config)
            use_compile(config.train.compile, device)  # train.compile=on where it cannot run: refused here
            if resume and not has_checkpoint(out):  # stopped before its first checkpoint: start it again
                log.warning("--resume: %s has no checkpoint yet; training it from step 0", out)
                resume, force = False, True
            init = _init_source(config) if not resume else None
            external = _external_models(config, device)
            corpus = _load_corpus(config, dist_info)
            model_class(config.model.type).check_setup(config.model, corpus.label_names)  # e.g. local models
        except TextvaeError as exc:
            failure = exc
        if any_rank(failure is not None, dist_info, device):  # every rank stops with the same message
            raise failure or TextvaeError("another process of this run stopped on bad input (see its message)")
        with run_lock(out) if dist_info.is_main else contextlib.nullcontext():
            return _train(config, corpus, out, resume, force, device, dist_info, init, external)
    finally:
        cleanup(dist_info)
        torch.set_num_threads(threads)


def _init_source(config: Config):
    """The model ``train.init_from`` names, loaded on the CPU (None without one); refused in one
    line when it does not load, is of another kind of tokenizer, or lacks a part asked for."""
    if not config.train.init_from:
        return None
    from textvae.modeldir import load_model_dir

    source = load_model_dir(config.train.init_from, device="cpu")
    if model_class(config.model.type).training_tokenizer(config.model) is not None:
        raise TextvaeError(f"train.init_from: a {config.model.type} model brings its own tokenizer; "
                           "initialise it from its pretrained backbone instead")
    if not isinstance(source.tokenizer, Tokenizer):
        raise TextvaeError(f"train.init_from: {config.train.init_from} has a transformers tokenizer; "
                           "start from a model with textvae's own tokenizer")
    names = source.model.state_dict().keys()
    for part in config.train.init_parts:
        if part != "all" and not any(n == part or n.startswith(part + ".") for n in names):
            raise TextvaeError(f"train.init_parts: {config.train.init_from} has no part '{part}'; its parts are "
                               + ", ".join(sorted({n.split('.')[0] for n in names})))
    return source


def _external_models(config: Config, device: torch.device) -> Dict[str, Any]:
    """The other trained models the model's training asks for, loaded (one line when one does not load)."""
    from textvae.modeldir import load_model_dir

    loaded = {}
    for name, path in model_class(config.model.type).external_models(config.model).items():
        try:
            loaded[name] = load_model_dir(path, device=device)
        except TextvaeError as exc:
            raise TextvaeError(f"{name} ({path}): {exc}") from None
    return loaded


def copy_parts(model: torch.nn.Module, source, parts: List[str], where: str) -> int:
    """Copy ``source``'s parameters and buffers named by ``parts`` into ``model`` (same names and
    shapes; a named part that does not fit is refused); returns how many tensors were copied."""
    own, theirs = model.state_dict(), source.model.state_dict()
    wanted = [n for n in theirs if "all" in parts or any(n == p or n.startswith(p + ".") for p in parts)]
    shared = [n for n in wanted if n in own]
    if "all" not in parts:
        misfit = [n for n in wanted if n not in own or own[n].shape != theirs[n].shape]
        if misfit:
            n = misfit[0]
            shape = tuple(own[n].shape) if n in own else "absent"
            raise TextvaeError(f"train.init_from: {n} is {tuple(theirs[n].shape)} in {where} but {shape} in this "
                               "model; use the same sizes, or leave that part out of train.init_parts")
    copied = {n: theirs[n] for n in shared if own[n].shape == theirs[n].shape}
    skipped = [n for n in wanted if n not in copied]
    if skipped:  # "all": what does not fit is left at this model's own initialisation, and said
        log.warning("train.init_from: %d tensor(s) of %s do not fit this model and keep their initialisation: %s",
                    len(skipped), where, ", ".join(skipped[:8]) + (" ..." if len(skipped) > 8 else ""))
    if not copied:
        raise TextvaeError(f"train.init_from: {where} shares no parameter (same name and shape) with this model")
    model.load_state_dict(copied, strict=False)
    return len(copied)


def _load_corpus(config: Config, dist_info):
    data = config.data
    corpus = load_corpus(data.path, text_column=data.text_column, label_column=data.label_column,
                         label_names=data.label_names, max_tokens=data.max_tokens)
    for reason, count in corpus.skipped.items():
        if count and dist_info.is_main:
            log.warning("skipped %d %s lines in %s", count, reason, data.path)
    return corpus


def _tokenizer(config: Config, corpus, out: Path, resume: bool, dist_info, init=None) -> Tokenizer:
    own = model_class(config.model.type).training_tokenizer(config.model)  # e.g. a pretrained decoder's
    if own is not None:
        return own
    if resume:
        return Tokenizer.load(out / CHECKPOINT_SUBDIR / TOKENIZER_FILE)
    if init is not None:  # the weights' own token ids
        return init.tokenizer
    if dist_info.is_main:  # rank 0 trains and caches; the others then read the cache
        tokenizer = train_tokenizer(corpus.texts("train"), config.tokenizer)
    barrier(dist_info)
    if not dist_info.is_main:
        tokenizer = train_tokenizer(corpus.texts("train"), config.tokenizer)
    if len(tokenizer) < config.tokenizer.vocab_size and dist_info.is_main:
        log.warning("using a vocabulary of %d pieces, all that the corpus supports (the recipe asked for %d)",
                    len(tokenizer), config.tokenizer.vocab_size)
    return tokenizer


def _train(config: Config, corpus, out: Path, resume: bool, force: bool, device: torch.device,
           dist_info, init=None, external=None) -> Dict[str, Any]:
    if resume and dist_info.is_main:  # finish a checkpoint swap that a kill interrupted
        recover_directory(out / CHECKPOINT_SUBDIR)
        recover_directory(out / MODEL_SUBDIR)
        remove_leftovers(out)
    barrier(dist_info)
    tokenizer = _tokenizer(config, corpus, out, resume, dist_info, init)
    train_ids = tokenizer.encode(corpus.texts("train"))
    train_labels = corpus.labels("train")
    schedule = BatchSchedule([len(s) for s in train_ids], config.train.max_tokens, config.train.max_sentences,
                             seed=config.seed, shuffle=True, rank=dist_info.rank, world_size=dist_info.world_size,
                             by_length=config.train.batching == "length")
    if len(schedule) == 0:
        raise TextvaeError(f"the training split ({len(train_ids)} sentences) gives no batch to each of "
                           f"{dist_info.world_size} processes; use fewer processes or smaller batches")

    def make_batch(indices):
        return collate([train_ids[i] for i in indices], [train_labels[i] for i in indices], indices)

    dev_batches = _eval_batches(corpus, "dev", tokenizer, config)
    torch.manual_seed(config.seed)  # the same initial weights on every rank and every run
    model = build_model(config.model, len(tokenizer), num_labels=len(corpus.label_names),
                        tokenizer=tokenizer, label_names=corpus.label_names).to(device)
    for name, bundle in (external or {}).items():
        model.attach_external(name, bundle)
    if init is not None:
        if list(init.label_names) != list(corpus.label_names):
            raise TextvaeError(f"train.init_from: {config.train.init_from} knows the styles {init.label_names}, "
                               f"this corpus {list(corpus.label_names)}")
        copied = copy_parts(model, init, config.train.init_parts, config.train.init_from)
        if dist_info.is_main:
            log.info("initialised %d tensors (%s) from %s", copied, ", ".join(config.train.init_parts),
                     config.train.init_from)
    data = TrainingData(train_ids, corpus.texts("train"), train_labels, tokenizer, config.seed,
                        lambda rows: _subset_batches(train_ids, train_labels, rows, config))
    model.prepare(data)  # e.g. the content vocabulary of a style/content model
    _check_early_stopping(config, model, dev_batches, device)
    stats = {"corpus": corpus.source, "corpus_fingerprint": corpus.fingerprint,
             "train_sentences": len(train_ids)}

    def save(path: Path, trainer_state: Optional[dict]) -> None:
        model.refresh_statistics(data)  # e.g. the mean style vectors transfer uses, from these weights
        stats.update(step=trainer.state["step"], minutes=round(trainer.state["elapsed"] / 60, 2))  # for the card
        save_model_dir(path, model, config, tokenizer, corpus.label_names, stats, trainer_state)

    evaluate = (lambda m: evaluate_reconstruction(m, dev_batches, device)) if dev_batches else None
    if evaluate is not None and model.can_transfer:  # the training curve of a style-transfer model
        from textvae.evaluation.transfer_dev import transfer_evaluator

        transfer_eval = transfer_evaluator(corpus, tokenizer, config, device, config.train.eval_transfer_sentences)
        if transfer_eval is not None:
            def evaluate(m):
                m.refresh_statistics(data)  # transfer with the current statistics
                return {**evaluate_reconstruction(m, dev_batches, device), **transfer_eval(m)}
    trainer = Trainer(model, config.train, schedule, make_batch, out, save, evaluate, dist_info, device)
    stats["precision"] = str(trainer.amp_dtype or torch.float32).replace("torch.", "")  # train.amp=auto varies by machine
    if resume:
        load_weights(model, out / CHECKPOINT_SUBDIR / WEIGHTS_FILE)
        trainer.load_trainer_state(load_trainer_state(out / CHECKPOINT_SUBDIR))
        budget = config.train.max_minutes
        if budget is not None and trainer.state["elapsed"] >= budget * 60:
            raise TextvaeError(f"--resume: {out} has used its time budget of train.max_minutes={budget:g}; "
                               "raise train.max_minutes to train on")
    else:
        torch.manual_seed(config.seed + dist_info.rank)  # dropout and noise differ between ranks
    if dist_info.is_main:  # all checks passed: only now touch the run directory
        if resume:
            _truncate_metrics(out / METRICS_FILE, trainer.state["step"])
        elif out.exists() and force:
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / RECIPE_FILE, config.to_yaml())
    barrier(dist_info)

    result = trainer.fit()
    result.update(out=str(out), model=str(out / MODEL_SUBDIR), world_size=dist_info.world_size)
    test_batches = _eval_batches(corpus, "test", tokenizer, config)
    if test_batches and result["stopped"] != "interrupted":  # tune on dev, report on test: the saved model
        load_weights(model, out / MODEL_SUBDIR / WEIGHTS_FILE)
        result["test"] = trainer.evaluate(lambda m: evaluate_reconstruction(m, test_batches, device))
    if dist_info.is_main:
        atomic_write_text(out / RESULT_FILE, json.dumps(result, indent=2) + "\n")
    return result


def _check_early_stopping(config: Config, model, dev_batches, device) -> None:
    """A named metric needs a dev split and must be one the evaluation reports (checked on one batch)."""
    metric = config.train.early_stopping.metric
    if not metric:
        return
    if not dev_batches:
        raise TextvaeError(f"train.early_stopping.metric is '{metric}' but the corpus has no dev split; "
                           "add one or set train.early_stopping.metric=null")
    available = evaluate_reconstruction(model, dev_batches[:1], device)
    if model.can_transfer and config.train.eval_transfer_sentences > 0:
        available.update(transfer_acc=0.0, transfer_self_bleu=0.0)
    if metric not in available:
        raise TextvaeError(f"train.early_stopping.metric '{metric}' is not a dev metric of this model; "
                           f"choose one of: {', '.join(sorted(available))}")


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
    return [batch for _, batch in id_batches(ids, [labels[i] for i in keep], config.train.max_tokens,
                                             config.train.max_sentences)]


def _subset_batches(train_ids, train_labels, rows: List[int], config: Config):
    """Batches of the training sentences at ``rows`` (e.g. those the mean style vectors average)."""
    return [batch for _, batch in id_batches([train_ids[r] for r in rows], [train_labels[r] for r in rows],
                                             config.train.max_tokens, config.train.max_sentences)]


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after the checkpoint we resume from (and any torn last line)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            continue
    atomic_write_text(path, "".join(line + "\n" for line in kept))
