"""The config of ``model.type: m2``: the semi-supervised VAE with the label as a latent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from textvae.config import SentenceModelConfig


@dataclass
class M2Config(SentenceModelConfig):
    """The sentence model's sections (``latent`` is z, Gaussian) plus how many training labels
    the model may see and how much their classification counts.

    ``labelled``: the share of the training split whose labels are kept (0 to 1), or
    ``labelled_count`` exactly that many (either way balanced over the labels and drawn with the
    run's seed); every other label is hidden from training, and the model directory records which
    sentences were labelled (``labelled.json``). ``alpha``: weight of -log q(y|x) on the labelled
    sentences, per labelled sentence. ``labelled_batch``: labelled sentences drawn from the kept
    ones and added to every training step, so that a classifier from 1% of the labels sees them
    more than once an epoch (Kingma et al. train on labelled and unlabelled minibatches
    together)."""

    type: str = "m2"
    labelled: float = 1.0
    labelled_count: Optional[int] = None
    alpha: float = 10.0
    labelled_batch: int = 32

    def check(self):
        yield from super().check()
        if self.latent.type != "gaussian":
            yield "latent.type", f"M2's z is Gaussian (latent.type gaussian), got {self.latent.type}"
        if not 0 <= self.labelled <= 1:
            yield "labelled", f"must be a share between 0 and 1, got {self.labelled}"
        if self.labelled_count is not None and self.labelled_count < 0:
            yield "labelled_count", f"must not be negative, got {self.labelled_count}"
        if self.alpha < 0:
            yield "alpha", f"must not be negative, got {self.alpha}"
        if self.labelled_batch < 0:
            yield "labelled_batch", f"must not be negative, got {self.labelled_batch}"
        for key, unsupported in (("loss.mmd_weight", self.loss.mmd_weight > 0),
                                 ("loss.free_bits", self.loss.free_bits.type != "none"),
                                 ("loss.disentangle", self.loss.disentangle.type != "none"),
                                 ("latent.batch_norm", self.latent.batch_norm.type != "none")):
            if unsupported:
                yield key, "is not supported by M2 (its KL sits inside a bound per label); leave it off"
