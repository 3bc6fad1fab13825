"""The config of ``model.type: bst``: the back-translation pipeline of Prabhumoye et al. (2018)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from textvae.config import DecoderConfig, ModelConfig, at_least
from textvae.models.style_seq2seq.config import CycleConfig


@dataclass
class PivotConfig:
    """Translation models for the back-translation pipeline of Prabhumoye et al. (2018)
    (``model.type: bst``): local `transformers` seq2seq checkpoints (e.g. Marian en-fr and
    fr-en) or hub names when online. The style loss, its warm-up and the classifier come from
    ``model.cycle`` (``style_weight``, ``warmup_steps``, ``soft_temperature``, ``gumbel``,
    ``classifier_lr``, ``classifier_filters``)."""

    forward: Optional[str] = None  # English -> pivot language
    backward: Optional[str] = None  # pivot -> English; its encoder reads the pivot sentence
    styles: Optional[List[str]] = None  # the styles that get a decoder (default: every style of the corpus)
    num_beams: int = 1  # for the English -> pivot translation
    max_length: int = 64  # pivot tokens at most

    def check(self):
        return at_least(self, 1, "num_beams", "max_length")


@dataclass
class BSTConfig(ModelConfig):
    """Frozen translation models (``pivot``) -> one attention decoder per style (``decoder``);
    the style loss and its classifier come from ``cycle``."""

    type: str = "bst"
    embedding_dim: int = 256
    dropout: float = 0.0
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    cycle: CycleConfig = field(default_factory=CycleConfig)
    pivot: PivotConfig = field(default_factory=PivotConfig)

    def check(self):
        if not (self.pivot.forward and self.pivot.backward):
            yield "pivot", ("a bst model needs model.pivot.forward and model.pivot.backward: local translation "
                            "models (English -> pivot, pivot -> English)")
        if self.cycle.style_relaxation != "sequential":
            yield "cycle.style_relaxation", "the bst pipeline supports only sequential"
