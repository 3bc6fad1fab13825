"""The config of ``model.type: arae``: adversarially regularized autoencoders (Zhao et al. 2018)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textvae.config import ModelConfig, ScheduleConfig, at_least


@dataclass
class ARAEConfig(ModelConfig):
    """Sizes and weights of the released style-transfer code (jakezhaojb/ARAE, yelp/): embedding
    and LSTM 128, a 128-dimensional code on the unit sphere with Gaussian noise (std
    ``code_noise``, annealed by 0.9995 every 100 steps), a 32-dimensional generator input, MLPs of
    128-128, a WGAN critic with gradient penalty ``gp_weight`` 0.1 and ``critic_steps`` updates per
    step, the encoder pushed towards the generator's codes with weight ``code_adversarial`` (the
    code's grad_lambda 0.01) and against the code classifier with weight ``classifier_adversarial``
    (lambda_class, the paper's lambda(2) row uses 1)."""

    type: str = "arae"
    embedding_dim: int = 128
    hidden_size: int = 128  # the LSTMs, and the code
    noise_size: int = 32  # the generator's input
    mlp_size: int = 128  # the hidden layers of generator, critic and classifier (two each)
    dropout: float = 0.0
    code_noise: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(
        type="exponential", start=0.1, value=0.1 * 0.9995 ** 1000, steps=100_000))
    gp_weight: float = 0.1
    critic_steps: int = 5
    code_adversarial: float = 0.01
    classifier_adversarial: float = 1.0
    gan_lr: float = 1e-4  # generator, critic and classifier

    def check(self):
        yield from at_least(self, 1, "embedding_dim", "hidden_size", "noise_size", "mlp_size", "critic_steps")
        if not 0 <= self.dropout < 1:
            yield "dropout", f"must be in [0, 1), got {self.dropout}"
        for name in ("gp_weight", "code_adversarial", "classifier_adversarial"):
            if not getattr(self, name) >= 0:  # also refuses NaN
                yield name, f"must not be negative, got {getattr(self, name)}"
        if not self.gan_lr > 0:
            yield "gan_lr", f"must be positive, got {self.gan_lr}"
