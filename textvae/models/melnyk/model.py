"""Melnyk, Dos Santos, Wadhawan, Padhi and Kumar (2017), "Improved neural text attribute transfer
with non-parallel data" (NIPS workshop on learning disentangled representations).

An attention encoder-decoder told the target style (the network of ``style_seq2seq``) learns from
four losses: it reconstructs its input with the input's style; a *collaborative* classifier,
trained on real sentences only, reads the soft (Gumbel-softmax) transfer to the other style and
the model learns to make it say the target style (the classifier is frozen in that loss, so it
collaborates rather than competes); the soft transfer is encoded again and decoded with the
source's style, and the model learns to get the source back (back-transfer); and the source's
content words should appear in the transfer (content preservation: minus the log of the largest
probability each one gets at any position of the transfer, zero when every one is written).

What differs from the paper and why: the paper preserves nouns from a part-of-speech tagger; this
port does so with ``model.content_tagger`` (a local spaCy pipeline, ``spacy:PATH``, or a word
lexicon; each word's most frequent tag over the training split, not the tag in each sentence,
so that the term is a lookup of token ids), and without a tagger (the default, since none can be
downloaded here) it preserves the corpus' content words (neither stopwords nor mined style
words; for the synthetic corpus these are its nouns and a few others). The back-transfer and
classifier terms share one soft decode of the whole batch.
"""

from __future__ import annotations

from typing import List

import torch

from textvae.decoding.search import soft_decode
from textvae.models.base import TrainingData
from textvae.models.components.content import content_token_ids, noun_token_ids
from textvae.models.melnyk.config import MelnykConfig
from textvae.models.registry import register_model
from textvae.models.style_seq2seq.model import StyleSeq2Seq
from textvae.objectives.classifier_feedback import frozen_classifier_loss
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.terms import Context, LossTerm


def content_preservation(probs: torch.Tensor, mask: torch.Tensor, src: torch.Tensor,
                         is_content: torch.Tensor) -> torch.Tensor:
    """Mean over the source's content tokens of -log(max over the transfer's positions of their
    probability); ``probs`` ``(B, L, V)`` with ``mask`` ``(B, L)``, ``src`` ``(B, S)``, ``is_content``
    ``(V,)`` booleans. Zero when every content word is written somewhere with probability 1."""
    keep = is_content[src]  # (B, S)
    if not bool(keep.any()):
        return probs.new_zeros(())
    best = (probs * mask[..., None].to(probs.dtype)).max(1).values  # (B, V): each word's best position
    written = best.gather(1, src)  # (B, S)
    return -(written.clamp(min=1e-8).log() * keep).sum() / keep.sum()


@register_model("melnyk", config=MelnykConfig)
class MelnykModel(StyleSeq2Seq):
    """See the module docstring."""

    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16",
                      "model.cycle.warmup_steps=1")

    def __init__(self, config: MelnykConfig, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.register_buffer("is_content", torch.zeros(vocab_size, dtype=torch.bool))  # set by prepare()

    def prepare(self, data: TrainingData) -> None:
        """The content words the preservation term asks for (and the distillation pairs): the nouns
        under ``content_tagger``, else the corpus' content words."""
        super().prepare(data)
        tagger = self.config.content_tagger
        ids = noun_token_ids(data, tagger) if tagger else content_token_ids(data)
        mask = torch.zeros_like(self.is_content)
        mask[torch.tensor(ids, dtype=torch.long, device=mask.device)] = True
        self.is_content.copy_(mask)

    def loss_terms(self) -> List[LossTerm]:
        cycle, config = self.config.cycle, self.config
        return [LossTerm("rec", lambda context: context["rec"], weight=cycle.ae_weight),
                *self.style_term(self._collaborative),
                LossTerm("back_transfer", self._back_transfer, weight=config.back_transfer, warmup=cycle.warmup_steps,
                         when="weighted_or_eval"),
                LossTerm("content_preservation", self._content_preservation, weight=config.content_preservation,
                         warmup=cycle.warmup_steps, when="weighted_or_eval"),
                *self.reward_terms(), *self.distill_terms()]

    def _soft_transfer(self, context: Context):
        """The batch soft-decoded into the target styles, once per step for every term."""
        if "soft" not in context:
            batch, cfg = context["batch"], self.config.cycle
            state = self.decoder.initial_state(self.decoder_context(batch.src, batch.lengths, context["targets"]))
            context["soft"] = soft_decode(self.decoder.step_embedded, self.embedding.weight, state, len(batch),
                                          int(batch.lengths.max()) + cfg.extra_length,
                                          temperature=cfg.soft_temperature, gumbel=cfg.gumbel and self.training)
        return context["soft"]

    def _collaborative(self, context: Context):
        soft = self._soft_transfer(context)
        loss, accuracy = frozen_classifier_loss(self.classifier, soft["probs"], soft["mask"], context["targets"])
        return loss, {"style_loss": loss.detach(), "transfer_acc": accuracy}

    def _back_transfer(self, context: Context):
        """Encode the soft transfer (expected embeddings) and decode the source with its own style."""
        batch, soft = context["batch"], self._soft_transfer(context)
        lengths = soft["mask"].sum(1).clamp(min=1)
        embedded = soft["probs"].to(self.embedding.weight.dtype) @ self.embedding.weight
        back = self.decoder_context(soft["tokens"], lengths, batch.labels, embedded=embedded)
        nll = sentence_nll(self.decoder(batch.tgt_in, back), batch.tgt_out)
        return nll.mean(), {"back_transfer": nll.mean().detach()}

    def _content_preservation(self, context: Context):
        batch, soft = context["batch"], self._soft_transfer(context)
        value = content_preservation(soft["probs"].float(), soft["mask"], batch.src, self.is_content)
        return value, {"content_preservation": value.detach()}
