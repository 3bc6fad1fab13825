"""Data parallelism under ``torchrun``: the same recipe, no code change.

``torchrun --nproc_per_node N -m textvae train RECIPE`` sets RANK/WORLD_SIZE/LOCAL_RANK;
we then start a process group (NCCL on GPUs, gloo on CPUs), wrap the model in
DistributedDataParallel, give each rank every N-th batch, and let rank 0 alone
write logs and checkpoints.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from textvae.errors import TextvaeError

log = logging.getLogger("textvae")


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun; otherwise a single process."""
    if not launched_by_torchrun():
        return DistInfo()
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL collectives use the current device
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def pick_device(name: str) -> torch.device:
    """``auto`` and ``cuda`` pick this rank's GPU when there is one; ``auto`` falls back to the CPU."""
    try:
        device = torch.device("cuda" if name == "auto" else name)
    except RuntimeError:
        raise TextvaeError(f"train.device '{name}' is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            if name == "auto":
                return torch.device("cpu")
            raise TextvaeError(f"train.device is '{name}' but CUDA is not available on this machine")
        ranks, gpus = int(os.environ.get("LOCAL_WORLD_SIZE", 1)), torch.cuda.device_count()
        if device.index is None and ranks > gpus:  # NCCL cannot put two ranks on one GPU
            if name == "auto":
                log.warning("%d processes on this machine but %d GPU(s): training on the CPU (gloo); "
                            "start at most one process per GPU to train on them", ranks, gpus)
                return torch.device("cpu")
            raise TextvaeError(f"train.device is '{name}' but this machine runs {ranks} processes for {gpus} GPU(s); "
                               "start at most one process per GPU (torchrun --nproc_per_node)")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    elif device.type != "cpu":
        raise TextvaeError(f"train.device '{name}' is not supported; use auto, cpu, cuda or cuda:N")
    return device


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True when ``flag`` holds on any rank (so that all ranks stop together)."""
    if not info.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
