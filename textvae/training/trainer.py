"""One training loop for every textvae model.

The model (a :class:`textvae.models.base.Model`) has ``set_step(step)`` for its schedules;
its ``forward(batch)`` returns a dict of scalar tensors; its ``optimizer_groups()`` names,
for each optimizer, the parameters it owns and the loss key it minimises (derived from its
loss terms: an adversary has its own). All named losses are
summed into one backward pass, so a loss must only send gradient to its own
group's parameters (cross terms use detached inputs or frozen copies); this keeps
one backward per step, which DistributedDataParallel needs. A group may also ask for
``extra_steps`` updates of its own after that step, each on the loss ``extra_loss()`` returns.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from textvae.config import TrainConfig
from textvae.data.batching import Batch, BatchSchedule
from textvae.errors import TextvaeError, first_line
from textvae.runtime import compile_unavailable
from textvae.training.distributed import DistInfo, any_rank, barrier
from textvae.training.logging import MetricLogger

log = logging.getLogger("textvae")

MakeBatch = Callable[[List[int]], Batch]
Evaluate = Callable[[nn.Module], Dict[str, float]]
SaveFn = Callable[[Path, Optional[Dict[str, Any]]], None]


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def build_optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """The fused implementation when the parameters allow it (5x faster than the default on CPU)."""
    params = list(params)
    try:
        return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay)


def use_compile(mode: str, device: torch.device) -> bool:
    """``train.compile``: ``on`` (refused in one line where it cannot run), ``off``, or ``auto``,
    which is off: no default precision of any device kind measured a gain (benchmarks/
    train_throughput.py --compile, docs/benchmarks.md: 0.93x eager on a 2-core AVX2 CPU in fp32;
    1.00x in bf16 autocast, the default there, on an AVX512-BF16 CPU, where only ``train.amp=off``
    gained, 1.26x)."""
    if mode == "on":
        reason = compile_unavailable(device)
        if reason:
            raise TextvaeError(f"train.compile=on: {reason}; use train.compile=off")
        return True
    return False


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX): 4x its fp32
    throughput on the AMD EPYC in docs/benchmarks.md; elsewhere bf16 is emulated and slower."""
    return any(getattr(torch.cpu, check, lambda: False)()
               for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def amp_dtype(mode: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype for ``train.amp``. ``auto``: bf16 on GPUs that support it (fp16 with
    loss scaling on the others) and on CPUs with native bf16, fp32 on other CPUs."""
    if mode == "off":
        return None
    if mode == "auto" and device.type != "cuda":
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    if mode == "fp16":
        return torch.float16
    if mode == "auto" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def rng_state() -> Dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def _stop_signals():
    """A list that the first SIGINT or SIGTERM appends to (the step in progress finishes); the
    second gets the old behaviour (KeyboardInterrupt, or termination). Only in the main thread."""
    import signal
    import threading

    stop: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum, frame):
        if stop:  # the second time: as before
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)
            return
        stop.append(signum)
        tqdm.write("textvae: stopping after this step and saving a checkpoint (press Ctrl-C again to stop now)")

    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Runs the optimisation loop, dev evaluation, early stopping, logging and checkpoints."""

    def __init__(self, model: nn.Module, config: TrainConfig, schedule: BatchSchedule, make_batch: MakeBatch,
                 out_dir: Path, save: SaveFn, evaluate: Optional[Evaluate] = None,
                 dist_info: Optional[DistInfo] = None, device: torch.device = torch.device("cpu")):
        self.model = model
        self.config = config
        self.schedule = schedule
        self.make_batch = make_batch
        self.out_dir = Path(out_dir)
        self.save = save
        self.evaluate_fn = evaluate
        self.dist = dist_info or DistInfo()
        self.device = device
        self.groups = model.optimizer_groups()
        self.optimizers = [build_optimizer(config.optimizer, g["params"], g.get("lr", config.lr),
                                           config.weight_decay) for g in self.groups]
        self.amp_dtype = amp_dtype(config.amp, device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.wrapped = model
        if self.dist.enabled:
            self.wrapped = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        self._eager = self.wrapped
        self.compiled = use_compile(config.compile, device)
        if self.compiled:  # dynamic shapes: batches differ in length and size
            self.wrapped = torch.compile(self.wrapped, dynamic=True)
        self.state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "elapsed": 0.0,
                      "sentences": 0, "best": None, "best_step": None, "bad_evals": 0, "stopped": None,
                      "last_eval": {}, "last_eval_step": None}
        self.logger = MetricLogger(self.out_dir, enabled=self.dist.is_main)

    # ------------------------------------------------------------------ state

    def trainer_state(self) -> Dict[str, Any]:
        rngs = [rng_state()]
        if self.dist.enabled:
            rngs = [None] * self.dist.world_size
            torch.distributed.all_gather_object(rngs, rng_state())
        return {"state": dict(self.state), "optimizers": [o.state_dict() for o in self.optimizers],
                "scaler": self.scaler.state_dict(), "rng": rngs}

    def load_trainer_state(self, saved: Dict[str, Any]) -> None:
        self.state.update(saved["state"])
        self.state["stopped"] = None
        for optimizer, state in zip(self.optimizers, saved["optimizers"]):
            optimizer.load_state_dict(state)
        self.scaler.load_state_dict(saved["scaler"])
        rngs = saved["rng"]
        if len(rngs) != self.dist.world_size:
            raise TextvaeError(f"--resume: the checkpoint was written by {len(rngs)} process(es), this run has "
                               f"{self.dist.world_size}; resume with the same number")
        set_rng_state(rngs[self.dist.rank])

    def checkpoint(self) -> None:
        state = self.trainer_state()  # every rank joins the RNG gather
        if self.dist.is_main:
            self.save(self.out_dir / "checkpoint", state)
        barrier(self.dist)

    # ------------------------------------------------------------------ steps

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def train_step(self, micro_batches: List[List[int]]) -> Dict[str, float]:
        self.model.train()
        self.model.set_step(self.state["step"])  # schedules (KL weight, word dropout) follow the step
        totals: Dict[str, float] = {}
        for i, indices in enumerate(micro_batches):
            batch = self.make_batch(indices).to(self.device, non_blocking=True)
            self.state["sentences"] += len(batch) * self.dist.world_size
            sync = i == len(micro_batches) - 1 or not self.dist.enabled
            with (contextlib.nullcontext() if sync else self.wrapped.no_sync()):
                with self._autocast():
                    out = self._forward(batch)
                loss = sum(out[g["loss"]] for g in self.groups) / len(micro_batches)
                self.scaler.scale(loss).backward()
            for key, value in out.items():  # summed on the device: no sync per step
                totals[key] = totals.get(key, 0.0) + value.detach() / len(micro_batches)
        for group, optimizer in zip(self.groups, self.optimizers):
            if self.config.grad_clip > 0:
                self.scaler.unscale_(optimizer)
                totals[f"grad_norm_{group['name']}"] = torch.nn.utils.clip_grad_norm_(
                    group["params"], self.config.grad_clip)
            self.scaler.step(optimizer)
        self.scaler.update()
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        for group, optimizer in zip(self.groups, self.optimizers):
            for _ in range(group.get("extra_steps", 0)):
                self._extra_step(group, optimizer)
        return totals

    def _forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        """The model's forward, compiled with ``train.compile``; a compiler failure (it compiles
        at the first call) is a one-line warning, and training goes on eagerly."""
        if not self.compiled:
            return self.wrapped(batch)
        try:
            return self.wrapped(batch)
        except Exception as exc:  # noqa: BLE001  (any compiler error; an error of the model recurs eagerly)
            reason = first_line(exc)
            log.warning("train.compile: torch.compile failed (%s); training without it", reason)
            self.compiled, self.wrapped = False, self._eager
            return self.wrapped(batch)

    def _extra_step(self, group: Dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
        """One more update of one group alone, on the loss its ``extra_loss()`` returns (e.g. a
        discriminator on remembered codes); gradients are averaged over processes by hand, since
        this pass does not go through DistributedDataParallel."""
        with self._autocast():  # the precision of the step (remembered inputs may be in it)
            loss = group["extra_loss"]()
        if loss is None:
            return
        loss.backward()
        if self.dist.enabled:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                torch.distributed.all_reduce(p.grad)
                p.grad /= self.dist.world_size
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(group["params"], self.config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def evaluate(self, evaluate_fn: Optional[Evaluate] = None) -> Dict[str, float]:
        """Run the dev evaluation (or ``evaluate_fn``) in eval mode, with the training autocast."""
        evaluate_fn = evaluate_fn or self.evaluate_fn
        if evaluate_fn is None:
            return {}
        self.model.eval()
        with torch.no_grad(), self._autocast():
            return evaluate_fn(self.model)

    def _after_eval(self, metrics: Dict[str, float]) -> bool:
        """Track the best model; returns True when early stopping says stop."""
        stop_cfg = self.config.early_stopping
        if not stop_cfg.metric:
            return False
        if stop_cfg.metric not in metrics:
            raise TextvaeError(f"train.early_stopping.metric '{stop_cfg.metric}' is not a dev metric; "
                           f"choose one of: {', '.join(sorted(metrics))}")
        value = metrics[stop_cfg.metric]
        best = self.state["best"]
        better = best is None or (value < best if stop_cfg.mode == "min" else value > best)
        if better:
            self.state.update(best=value, best_step=self.state["step"], bad_evals=0)
            if self.dist.is_main:
                self.save(self.out_dir / "model", None)
        else:
            self.state["bad_evals"] += 1
        barrier(self.dist)
        return stop_cfg.patience > 0 and self.state["bad_evals"] >= stop_cfg.patience

    # ------------------------------------------------------------------ loop

    def _finished(self) -> Optional[str]:
        cfg = self.config
        if cfg.max_steps is not None and self.state["step"] >= cfg.max_steps:
            return "max_steps"
        if cfg.max_epochs is not None and self.state["epoch"] >= cfg.max_epochs:
            return "max_epochs"
        return None

    def fit(self) -> Dict[str, Any]:
        """Train to the configured end; a first Ctrl-C (SIGINT) or SIGTERM finishes the step, saves a
        checkpoint and the model, and ends with ``stopped: interrupted`` (a second one stops at once)."""
        with _stop_signals() as stop:
            self._stop = stop
            try:
                return self._fit()
            finally:  # also on errors: TensorBoard's writer thread must not outlive a run directory being removed
                self.logger.close()

    def _fit(self) -> Dict[str, Any]:
        cfg = self.config
        steps_per_epoch = math.ceil(len(self.schedule) / cfg.grad_accum)
        # a run bounded only by time has no known step total: the bar counts steps and shows the rate
        total = cfg.max_steps or (cfg.max_epochs * steps_per_epoch if cfg.max_epochs else None)
        initial = self.state["step"] if total is None else min(self.state["step"], total)
        bar = tqdm(total=total, initial=initial, disable=not self.dist.is_main,
                   desc="train", unit="step", dynamic_ncols=True,
                   mininterval=0.5 if sys.stderr.isatty() else 30)  # keep log files short
        started = time.monotonic() - self.state["elapsed"]
        reason = self._finished()
        running: Dict[str, float] = {}
        n_running = 0
        while reason is None:
            batches = self.schedule.epoch(self.state["epoch"])
            while reason is None and self.state["batch_in_epoch"] < len(batches):
                first = self.state["batch_in_epoch"]
                metrics = self.train_step(batches[first:first + cfg.grad_accum])
                self.state["batch_in_epoch"] = min(first + cfg.grad_accum, len(batches))
                self.state["step"] += 1
                self.state["elapsed"] = time.monotonic() - started
                step = self.state["step"]
                bar.update(1)
                for key, value in metrics.items():
                    running[key] = running.get(key, 0.0) + value
                n_running += 1
                if step % cfg.log_every == 0:
                    means = {k: float(v) / n_running for k, v in running.items()}
                    bar.set_postfix(loss=f"{means.get('loss', float('nan')):.3f}")
                    self.logger.log("train", step, self.state["epoch"], self.state["elapsed"], means)
                    running, n_running = {}, 0
                reason = self._finished()
                if any_rank(bool(self._stop), self.dist, self.device):  # Ctrl-C or SIGTERM: stop together
                    reason = "interrupted"
                    break
                if cfg.max_minutes is not None and self.state["elapsed"] >= cfg.max_minutes * 60:
                    reason = "max_minutes"
                if cfg.max_minutes is not None and any_rank(reason is not None, self.dist, self.device):
                    reason = reason or "max_minutes"  # another rank ran out of time: stop together
                if reason is None and step % cfg.eval_every == 0 and self._after_eval(self._log_eval()):
                    reason = "early_stopping"
                if reason is None and step % cfg.checkpoint_every == 0:
                    self.checkpoint()
            if self.state["batch_in_epoch"] >= len(batches):
                self.state["epoch"] += 1
                self.state["batch_in_epoch"] = 0
                reason = reason or self._finished()
        bar.close()
        self.state["stopped"] = reason
        if reason != "interrupted" and self.state["last_eval_step"] != self.state["step"]:
            self._after_eval(self._log_eval())
        final = self.state["last_eval"]
        self.checkpoint()
        if self.dist.is_main and (not cfg.early_stopping.metric or not (self.out_dir / "model").exists()):
            self.save(self.out_dir / "model", None)
        barrier(self.dist)
        return {"stopped": reason, "step": self.state["step"], "epoch": self.state["epoch"],
                "elapsed": self.state["elapsed"], "sentences": self.state["sentences"], "dev": final,
                "best": self.state["best"],
                "best_step": self.state["best_step"]}

    def _log_eval(self) -> Dict[str, float]:
        metrics = self.evaluate()
        self.state.update(last_eval=metrics, last_eval_step=self.state["step"])
        if metrics:
            self.logger.log("dev", self.state["step"], self.state["epoch"], self.state["elapsed"], metrics)
            if self.dist.is_main:
                shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
                tqdm.write(f"[dev] step {self.state['step']}: {shown}")
        return metrics

