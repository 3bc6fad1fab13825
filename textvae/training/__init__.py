"""Training: one Trainer, checkpoints, distributed helpers and the ``train`` entry point."""

from textvae.training.run import train
from textvae.training.trainer import Trainer

__all__ = ["Trainer", "train"]
