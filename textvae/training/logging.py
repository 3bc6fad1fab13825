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
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "metrics.jsonl"
        self.tensorboard = enabled and tensorboard
        self.writer = None

    def _writer(self):
        """TensorBoard's writer, made at the first record: it creates its event file at once, and
        nothing may touch the run directory before a run has passed its checks."""
        if self.tensorboard and self.writer is None:
            self.tensorboard = False  # one try
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional: pip install textvae[tensorboard]
                return None
            self.writer = SummaryWriter(log_dir=str(self.out_dir / "tensorboard"))
        return self.writer

    def log(self, split: str, step: int, epoch: int, elapsed: float, metrics: Dict[str, float]) -> None:
        if not self.enabled:
            return
        record = {"split": split, "step": step, "epoch": epoch, "elapsed": round(elapsed, 3),
                  "time": time.time(), **{k: float(v) for k, v in metrics.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        writer = self._writer()
        if writer is not None:
            for key, value in metrics.items():
                writer.add_scalar(f"{split}/{key}", float(value), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def read_metrics(path: Path):
    """Read a ``metrics.jsonl`` file back as a list of dicts."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
