"""A sentence style classifier trained on its own, apart from any transfer model.

A transfer model's own classifier is trained next to the generator, which learns to please it
(its soft transfers are scored by it at every step): reranking or rewarding by that same
classifier then prefers transfers that fool it (one style word flipped, the others left). A
classifier trained separately on the training split, never seen by the generator's training,
is a second opinion that the generator has not learnt to fool (``--scorer`` in
``textvae transfer``; ``model.reward.scorer`` for direct rewards). It is still the project's own
model of the training split, never the evaluation judge.

The network is a bidirectional RNN (or Transformer) encoder with max pooling over its states and
a linear layer, as in Conneau et al. (2017, "Supervised learning of universal sentence
representations", the BiLSTM-max encoder); a different family from the transfer models' CNN
classifier (Kim 2014) on purpose.
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from textvae.data.batching import Batch
from textvae.data.tokenizer import PAD_ID, UNK_ID
from textvae.errors import TextvaeError
from textvae.models.base import Model
from textvae.models.classifier.config import ClassifierConfig
from textvae.models.components.encoders import build_encoder
from textvae.models.registry import register_model
from textvae.objectives.terms import Context, LossTerm


@register_model("classifier", config=ClassifierConfig)
class SentenceClassifier(Model):
    """Embedding -> encoder -> max-pooled states -> label logits (see the module docstring)."""

    has_classifier = True
    min_styles = 2
    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16")

    def __init__(self, config: ClassifierConfig, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.encoder = build_encoder(self.embedding, config.encoder)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(self.encoder.output_size, self.num_labels)

    def label_logits(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if src.size(1) == 0:  # only empty sentences (e.g. empty transfers): one padding token each
            src = src.new_full((src.size(0), 1), PAD_ID)
        lengths = lengths.clamp(min=1)
        if self.training and self.config.word_dropout > 0:
            dropped = (torch.rand(src.shape, device=src.device) < self.config.word_dropout) & (src != PAD_ID)
            src = src.masked_fill(dropped, UNK_ID)
        _, sentence = self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))
        return self.out(self.dropout(sentence))

    def loss_terms(self) -> List[LossTerm]:
        return [LossTerm("classify", self._classify)]

    def context(self, batch: Batch) -> Context:
        return {"batch": batch, "logits": self.label_logits(batch.src, batch.lengths)}

    def _classify(self, context: Context):
        """Cross-entropy on the labelled sentences (None for a batch without labels)."""
        batch, logits = context["batch"], context["logits"]
        labelled = batch.labels >= 0
        if not labelled.any():
            return None
        logits, labels = logits[labelled].float(), batch.labels[labelled]
        loss = F.cross_entropy(logits, labels)
        return loss, {"clf_loss": loss.detach(), "clf_acc": (logits.argmax(-1) == labels).float().mean()}


def check_scorer(scorer, label_names, what: str = "style scorer") -> None:
    """Refuse, in one line, a ``scorer`` (a loaded model directory or :class:`textvae.TextModel`)
    that is not a classifier of exactly the styles ``label_names``."""
    if not scorer.model.has_classifier:
        raise TextvaeError(f"{what} {scorer.path} is a {scorer.config.model.type} model, not a classifier; "
                           "train one with recipes/yelp_classifier.yaml")
    if list(scorer.label_names) != list(label_names):
        raise TextvaeError(f"{what} {scorer.path} knows the styles {list(scorer.label_names)}, the transfer model "
                           f"{list(label_names)}; train it on the transfer model's corpus")
