"""Metric logging: one JSON object a line in ``metrics.jsonl``, plus TensorBoard when installed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict


class MetricLogger:
    """Appends ``{"split", "step", "epoch", "elapsed", "time", ...metrics}`` records."""

    def __init__(self, out_dir: Path, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.path = Path(out_dir) / "metrics.jsonl"
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional: pip install textvae[tensorboard]
                SummaryWriter = None
            if SummaryWriter is not None:
                self.writer = SummaryWriter(log_dir=str(Path(out_dir) / "tensorboard"))

    def log(self, split: str, step: int, epoch: int, elapsed: float, metrics: Dict[str, float]) -> None:
        if not self.enabled:
            return
        record = {"split": split, "step": step, "epoch": epoch, "elapsed": round(elapsed, 3),
                  "time": time.time(), **{k: float(v) for k, v in metrics.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in metrics.items():
                self.writer.add_scalar(f"{split}/{key}", float(value), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(path: Path):
    """Read a ``metrics.jsonl`` file back as a list of dicts."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
