"""Adversarially regularized autoencoders (``model.type: arae``; Zhao et al. 2018)."""

from textvae.models.arae.config import ARAEConfig
from textvae.models.arae.model import ARAE

__all__ = ["ARAE", "ARAEConfig"]
