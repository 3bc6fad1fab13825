"""Style-conditioned seq2seq trained by iterative back-translation (``model.type: style_seq2seq``)."""

from textvae.models.style_seq2seq.config import CycleConfig, StyleSeq2SeqConfig
from textvae.models.style_seq2seq.model import StyleSeq2Seq

__all__ = ["CycleConfig", "StyleSeq2Seq", "StyleSeq2SeqConfig"]
