"""The config of ``model.type: classifier``: a sentence classifier of the corpus' labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from textvae.config import EncoderConfig, ModelConfig


@dataclass
class ClassifierConfig(ModelConfig):
    """Embedding -> encoder (``encoder.pooling`` pools its states) -> dropout -> linear layer over
    the labels, trained by cross-entropy on the training split's labels. ``dropout`` is on the
    embeddings and the pooled vector; ``word_dropout`` replaces that share of the input words by
    the unknown word in training, so the classifier also reads style from the words it cannot
    see (a transfer that leaves one style word in place is then still judged by the rest)."""

    type: str = "classifier"
    embedding_dim: int = 256
    dropout: float = 0.3
    word_dropout: float = 0.1
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(pooling="max"))

    def check(self):
        for name in ("dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                yield name, f"must be in [0, 1), got {getattr(self, name)}"
        if self.embedding_dim < 1:
            yield "embedding_dim", f"must be at least 1, got {self.embedding_dim}"
