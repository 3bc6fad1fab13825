"""The config of ``model.type: disentangled``: a sentence VAE/DAE with a style/content split latent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from textvae.config import ScheduleConfig, SentenceModelConfig, at_least, constant


@dataclass
class StyleConfig:
    """The style half of a split latent (John et al. 2019, "Disentangled Representation
    Learning for Non-Parallel Text Style Transfer"); ``latent`` is then the content half.

    Auxiliary losses, each off at weight 0: ``multitask`` (classify the label from ``s``),
    ``adversarial`` (a discriminator predicts the label from ``c``; the encoder maximises its
    entropy), ``content_multitask`` (predict the bag of content words from ``c``) and
    ``content_adversarial`` (a discriminator predicts the bag of content words from ``s``).
    The paper's weights: 10, 1, 3 and 0.03.

    ``discriminator_standardise`` shows the discriminators codes standardised with the batch's
    statistics (as a probe sees them), so that shrinking a direction does not hide it;
    ``discriminator_steps`` gives them that many updates per training step: one on the batch,
    the rest on minibatches drawn from the codes of recent batches (``discriminator_memory``
    rows), to keep an adversary that lags behind the encoder closer to a probe trained to
    convergence. Neither lowered the probe's accuracy on ``c`` in a 60-minute Yelp run
    (docs/benchmarks.md), so both are off by default.

    ``content_mmd`` (not in the paper) weighs the maximum mean discrepancy between the content
    codes of different labels in the batch (the Variational Fair Autoencoder's penalty, Louizos
    et al. 2016): it is zero only when ``c``'s distribution does not depend on the style.
    """

    dim: int = 8  # the size of the style code s
    type: Literal["deterministic", "gaussian"] = "gaussian"
    kl_weight: ScheduleConfig = field(default_factory=lambda: constant(1.0))
    multitask: float = 0.0
    adversarial: float = 0.0
    content_multitask: float = 0.0
    content_adversarial: float = 0.0
    content_mmd: float = 0.0
    discriminator_lr: float = 1e-3
    discriminator_standardise: bool = False
    discriminator_steps: int = 1
    discriminator_memory: int = 4096
    content_vocab: int = 5000  # most frequent content words the bag-of-words losses predict

    def check(self):
        yield from at_least(self, 1, "dim")
        for name in ("multitask", "adversarial", "content_multitask", "content_adversarial", "content_mmd"):
            if getattr(self, name) < 0:
                yield name, f"must not be negative, got {getattr(self, name)}"
        if self.discriminator_lr <= 0:
            yield "discriminator_lr", f"must be positive, got {self.discriminator_lr}"
        yield from at_least(self, 1, "discriminator_steps", "discriminator_memory", "content_vocab")


@dataclass
class DisentangledConfig(SentenceModelConfig):
    """The sentence model's sections (``latent`` is the content half) plus ``style``."""

    type: str = "disentangled"
    style: StyleConfig = field(default_factory=StyleConfig)

    def check(self):
        yield from super().check()
        if self.latent.type == "none":
            yield "latent.type", "a style latent needs a content latent too (gaussian or deterministic)"
