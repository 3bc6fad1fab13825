"""The config of ``model.type: style_seq2seq``: a style-conditioned seq2seq model trained by
iterative back-translation."""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Literal, Optional

from textvae.config import DecoderConfig, EncoderConfig, ModelConfig, NoiseConfig, ScheduleConfig, at_least, constant


@dataclass
class CycleConfig:
    """Iterative back-translation ("cycle") training of a style-conditioned seq2seq model
    (``model.type: style_seq2seq``; Lample et al. 2019, Dai et al. 2019).

    Every step: denoising self-reconstruction with the sentence's own style (``ae_weight``);
    after ``warmup_steps``, on-the-fly back-translation (transfer the batch to another style
    with the current model, no gradient, then learn to rebuild the original from it;
    ``bt_weight``), and a style loss on soft transfers (``style_weight``): the decoder's
    (Gumbel-)softmax outputs go through a CNN style classifier that trains alongside on real
    sentences (its own optimizer, ``classifier_lr``). The soft decode keeps every step's
    full-vocabulary distribution for the backward pass and costs about as much as the rest of
    the step; ``style_fraction`` < 1 runs it on a random part of each batch.
    ``style_relaxation: greedy_prefix`` (style_seq2seq only) is the cheap alternative: one
    parallel decoder pass over the back-translation's own transfer (``bt_strategy``: greedy or
    sampled), the classifier reading each position's (Gumbel-)softmax; gradients reach every output
    distribution but not through the previous inputs (``sequential``, Hu et al. 2017, does).
    """

    ae_weight: float = 1.0
    bt_weight: ScheduleConfig = field(default_factory=lambda: constant(1.0))
    warmup_steps: int = 1000
    bt_strategy: Literal["greedy", "sample"] = "greedy"
    bt_temperature: float = 1.0
    style_weight: ScheduleConfig = field(default_factory=lambda: constant(0.0))
    style_fraction: float = 1.0  # share of each training batch the style loss decodes (it is the costliest term)
    style_relaxation: Literal["sequential", "greedy_prefix"] = "sequential"
    gumbel: bool = True
    soft_temperature: float = 0.5
    classifier_lr: float = 1e-3
    classifier_filters: int = 128
    extra_length: int = 5  # transfers may be this many tokens longer than their source

    def check(self):
        for name in ("ae_weight", "bt_temperature", "soft_temperature", "classifier_lr"):
            if getattr(self, name) < 0 or (name != "ae_weight" and getattr(self, name) == 0):
                yield name, f"must be positive, got {getattr(self, name)}"
        if not 0 < self.style_fraction <= 1:
            yield "style_fraction", f"must be in (0, 1], got {self.style_fraction}"
        if self.warmup_steps < 0:
            yield "warmup_steps", f"must not be negative, got {self.warmup_steps}"
        yield from at_least(self, 1, "classifier_filters")


@dataclass
class RewardConfig:
    """Direct-reward fine-tuning (``model.reward``; off while ``weight`` is 0): policy gradient on
    transfers sampled from the model, with the greedy transfer's reward as the self-critical baseline
    (Rennie et al. 2017), as in DualRL (Luo et al. 2019) and DiRR (Liu, Neubig and Wieting 2021).
    The reward is ``style`` x the target style's probability under the model's own classifier, or
    under ``scorer`` (a classifier trained on its own, e.g. with recipes/yelp_classifier.yaml,
    which the generator did not learn to please in training; never the evaluation judge) + ``content`` x exp(-per-token NLL of rebuilding the source from the
    transfer) + ``fluency`` x a fluency score under the language model ``lm`` (e.g. one trained with
    recipes/yelp_lm.yaml on the training split). Start it from a trained model with
    ``train.init_from``.

    ``fluency_reference`` picks the fluency score: ``source``, min(1, PPL(source) / PPL(transfer)),
    1 for a transfer as fluent as its source and falling as it gets less fluent (on the style and
    content rewards' scale, and never paying for a transfer blander than its source); ``none``,
    1 / PPL(transfer) = exp(-per-token NLL), about 0.05 for any Yelp sentence, so its differences
    between transfers are a hundredth of the style reward's."""

    weight: ScheduleConfig = field(default_factory=lambda: constant(0.0))
    style: float = 1.0
    content: float = 1.0
    fluency: float = 0.0
    lm: Optional[str] = None  # a textvae language-model directory (for fluency)
    fluency_reference: Literal["source", "none"] = "source"
    scorer: Optional[str] = None  # a textvae classifier directory (for style; default: the model's own)
    temperature: float = 1.0  # of the sampled transfers

    def check(self):
        for name in ("style", "content", "fluency", "temperature"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "temperature" and value == 0):
                yield name, f"must be {'positive' if name == 'temperature' else 'zero or positive'}, got {value}"
        if self.fluency > 0 and not self.lm:
            yield "fluency", "needs model.reward.lm, a textvae language model (e.g. trained with recipes/yelp_lm.yaml)"

    @property
    def on(self) -> bool:
        return self.weight.value > 0 or self.weight.start > 0


@dataclass
class DistillConfig:
    """Distilled reranking (``model.distill``): train on pseudo-parallel pairs that ``textvae distill``
    made from this model's reranked transfers of the training split (``pairs``: the pairs
    directory); the term is the NLL of each pair's transfer given its source and target style,
    ``weight`` x, on ``batch`` pairs drawn from all of them at every training step (a few thousand
    pairs among hundreds of thousands of training sentences would otherwise meet a training
    batch about once per epoch). Start from the model with ``train.init_from``.

    ``max_ppl_ratio`` filters the pairs before training: only those whose transfer's per-token
    perplexity under the language model ``lm`` is at most this many times its source's are kept
    (the reranker trades fluency for style, and a pair it let through disfluent teaches the
    disfluency; filtering pseudo-parallel pairs by quality as IMaT, Jin et al. 2019, does by
    similarity).

    ``edit_weight`` weighs the NLL of each transfer token that its source does not contain by this
    much (1: every token alike), as the edit-weighted MLE of Junczys-Dowmunt et al. (2018, "Approaching
    neural grammatical error correction as a low-resource machine translation task"). A transfer
    copies most of its source, so the plain NLL is mostly spent on copying, and a student that copies
    the one style word its teacher replaced loses little: on Yelp the distilled model matched its
    pairs' transfers exactly for 71% of their sources and still kept the source's style for 8% more
    of them than the teacher (docs/benchmarks.md, session 29). Weighing the edits 3x there moved the
    greedy transfer along the accuracy / self-BLEU frontier that the guidance strength traces (more
    accurate, less content) rather than past it, so the recipes leave it at 1. Unlike the original,
    which aligns source and target, a token counts as an edit when it is nowhere in the source (the
    end token never is)."""

    pairs: Optional[str] = None
    weight: float = 1.0
    batch: int = 32
    edit_weight: float = 1.0
    lm: Optional[str] = None  # a textvae language model (e.g. recipes/yelp_lm.yaml) for max_ppl_ratio
    max_ppl_ratio: Optional[float] = None  # None: every pair is kept

    def check(self):
        if not (math.isfinite(self.weight) and self.weight >= 0):
            yield "weight", f"must be zero or positive, got {self.weight}"
        if self.batch < 1:
            yield "batch", f"must be at least 1 (pairs per training step), got {self.batch}"
        if not (math.isfinite(self.edit_weight) and self.edit_weight > 0):
            yield "edit_weight", f"must be a positive number (1: every token alike), got {self.edit_weight}"
        if self.max_ppl_ratio is not None:
            if not (math.isfinite(self.max_ppl_ratio) and self.max_ppl_ratio > 0):
                yield "max_ppl_ratio", f"must be a positive number (e.g. 1.5), got {self.max_ppl_ratio}"
            elif not self.lm:
                yield "max_ppl_ratio", ("needs model.distill.lm, a textvae language model (e.g. trained with "
                                        "recipes/yelp_lm.yaml)")


@dataclass
class StyleSeq2SeqConfig(ModelConfig):
    """Encoder states -> attention decoder told the style; ``cycle`` holds the training losses."""

    type: str = "style_seq2seq"
    embedding_dim: int = 256
    dropout: float = 0.0  # on embeddings and decoder outputs
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)  # on the encoder inputs of self-reconstruction
    cycle: CycleConfig = field(default_factory=CycleConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def check(self):
        if self.reward.on and self.reward.style > 0 and not self.reward.scorer and not (
                self.cycle.style_weight.value > 0 or self.cycle.style_weight.start > 0):
            yield "reward.style", ("rewards the model's own style classifier, which this model does not have "
                                   "(model.cycle.style_weight 0): fine-tune a model trained with one, name a "
                                   "classifier in model.reward.scorer, or set model.reward.style=0")
