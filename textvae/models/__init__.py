"""textvae's models: one package per model (its config and its module), the shared building
blocks in :mod:`textvae.models.components`, the protocol in :mod:`textvae.models.base` and the
registry in :mod:`textvae.models.registry`.

Importing this package imports every model package in it, and so registers every built-in
model: adding a model is adding its folder (see docs/contributing.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from textvae.models.registry import MODELS, build_model, model_class, register_model

NOT_MODELS = {"components"}

for _info in pkgutil.iter_modules(__path__):
    if _info.ispkg and _info.name not in NOT_MODELS:
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["MODELS", "build_model", "model_class", "register_model"]
