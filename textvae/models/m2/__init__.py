"""Kingma et al.'s semi-supervised VAE M2 on sentences (``model.type: m2``)."""

from textvae.models.m2.config import M2Config
from textvae.models.m2.model import M2Model

__all__ = ["M2Config", "M2Model"]
