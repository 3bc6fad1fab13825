"""Multitask sentence autoencoders: one code, several decoders (Brunner et al. 2018; ``model.type: multitask``)."""

from textvae.models.multitask.config import MultitaskConfig
from textvae.models.multitask.model import MultitaskAutoencoder

__all__ = ["MultitaskConfig", "MultitaskAutoencoder"]
