"""Back-translation through a pivot language (``model.type: bst``; Prabhumoye et al. 2018)."""

from textvae.models.bst.config import BSTConfig, PivotConfig
from textvae.models.bst.model import BSTModel

__all__ = ["BSTConfig", "BSTModel", "PivotConfig"]
