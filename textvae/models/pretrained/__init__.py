"""Optimus-style VAEs on `transformers` backbones (``model.type: pretrained``)."""

from textvae.models.pretrained.config import BackboneConfig, PretrainedConfig
from textvae.models.pretrained.model import PretrainedVAE

__all__ = ["BackboneConfig", "PretrainedConfig", "PretrainedVAE"]
