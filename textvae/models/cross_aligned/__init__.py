"""The cross-aligned autoencoder (``model.type: cross_aligned``; Shen et al. 2017)."""

from textvae.models.cross_aligned.config import CrossAlignedConfig
from textvae.models.cross_aligned.model import CrossAlignedAutoencoder

__all__ = ["CrossAlignedAutoencoder", "CrossAlignedConfig"]
