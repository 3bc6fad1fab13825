"""Melnyk et al. (2017): collaborative classifier, back-transfer and content preservation (``model.type: melnyk``)."""

from textvae.models.melnyk.config import MelnykConfig
from textvae.models.melnyk.model import MelnykModel

__all__ = ["MelnykConfig", "MelnykModel"]
