"""The config of ``model.type: cross_aligned``: the cross-aligned autoencoder of Shen et al. (2017)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from textvae.config import ModelConfig, NoiseConfig, ScheduleConfig, at_least


@dataclass
class CrossAlignedConfig(ModelConfig):
    """Sizes as in the paper (``style_dim`` is dim_y, ``content_dim`` dim_z); the encoder's input
    noise (a local shuffle of at most 3 places) and the discriminators' filter sizes as in the
    released code. ``temperature``: the Gumbel-softmax temperature of the transferred sentences'
    soft decoding, annealed from 1 towards 0.001 as the paper describes (the released code holds
    0.1). ``adversarial`` (the paper's rho) weighs the generator's loss of fooling the two
    discriminators; as in the released code it applies only while both discriminators' losses are
    below ``adversarial_gate`` (0: always). ``adversarial_warmup``: steps of reconstruction alone
    before that (no soft transfers, the discriminators idle; the temperature's schedule counts from
    its end), so that the content code carries the sentence before the generator is pushed to hide
    its style; 0 as in the paper and the released code."""

    type: str = "cross_aligned"
    embedding_dim: int = 100
    style_dim: int = 200
    content_dim: int = 500
    dropout: float = 0.5  # on the RNNs' inputs and outputs and in the discriminators
    noise: NoiseConfig = field(default_factory=lambda: NoiseConfig(shuffle_window=3.0))
    adversarial: float = 1.0
    adversarial_gate: float = 1.2
    adversarial_warmup: int = 0
    temperature: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(
        type="exponential", start=1.0, value=0.001, steps=20000))
    filter_sizes: List[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    filters: int = 128
    discriminator_lr: float = 5e-4

    def check(self):
        yield from at_least(self, 1, "embedding_dim", "style_dim", "content_dim", "filters")
        yield from at_least(self, 0, "adversarial_warmup")
        if not 0 <= self.dropout < 1:
            yield "dropout", f"must be in [0, 1), got {self.dropout}"
        if not (self.adversarial >= 0 and self.adversarial_gate >= 0):  # also refuses NaN
            yield "adversarial", "and adversarial_gate must not be negative"
        if not self.filter_sizes or min(self.filter_sizes) < 1:
            yield "filter_sizes", f"must be a non-empty list of positive widths, got {self.filter_sizes}"
        if not self.discriminator_lr > 0:
            yield "discriminator_lr", f"must be positive, got {self.discriminator_lr}"
        if self.temperature.type == "constant" and not self.temperature.value > 0:
            yield "temperature", f"must be positive, got {self.temperature.value}"
