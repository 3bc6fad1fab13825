"""Style/content split latents (``model.type: disentangled``; John et al. 2019)."""

from textvae.models.disentangled.config import DisentangledConfig, StyleConfig
from textvae.models.disentangled.model import DisentangledVAE

__all__ = ["DisentangledConfig", "DisentangledVAE", "StyleConfig"]
