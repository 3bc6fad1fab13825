"""The config of ``model.type: melnyk``: Melnyk et al.'s (2017) collaborative-classifier model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from textvae.config import constant
from textvae.models.style_seq2seq.config import CycleConfig, StyleSeq2SeqConfig


def _cycle() -> CycleConfig:
    """Autoencoding, and the collaborative classifier's loss after the warm-up; no hard
    back-translation (the model's back-transfer is its own, differentiable term)."""
    return CycleConfig(bt_weight=constant(0.0), style_weight=constant(1.0))


@dataclass
class MelnykConfig(StyleSeq2SeqConfig):
    """The attention encoder-decoder of ``style_seq2seq`` with Melnyk et al.'s four losses:
    reconstruction (``cycle.ae_weight``), the collaborative classifier's (``cycle.style_weight``,
    its own optimizer ``cycle.classifier_lr``), the back-transfer reconstruction through the soft
    transfer (``back_transfer``) and the preservation of the source's content words
    (``content_preservation``); each is off at weight 0, for the paper's ablation rows.
    ``content_tagger``: with a tag source (``spacy:PATH``, ``factors`` or a ``word<TAB>TAG``
    file; textvae.data.tags) the preserved words are the source's nouns, as in the paper; without
    one (the default), the corpus' content words."""

    type: str = "melnyk"
    cycle: CycleConfig = field(default_factory=_cycle)
    back_transfer: float = 1.0
    content_preservation: float = 1.0
    content_tagger: Optional[str] = None

    def check(self):
        yield from super().check()
        for name in ("back_transfer", "content_preservation"):
            if not getattr(self, name) >= 0:  # also refuses NaN
                yield name, f"must not be negative, got {getattr(self, name)}"
        if self.content_tagger:
            from textvae.data.tags import check_tag_spec

            problem = check_tag_spec(self.content_tagger)
            if problem:
                yield "content_tagger", problem
