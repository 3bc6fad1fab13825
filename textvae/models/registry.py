"""The model registry: ``@register_model("name", config=NameConfig)`` and ``build_model``.

Registering a model class makes ``model.type: name`` in a recipe read the ``model`` section with
``NameConfig`` and build the class (as fairseq's ``@register_model`` and HF's ``config_class``).
The built-in models register themselves when :mod:`textvae.models` is imported; a model of your
own registers when the module that defines it is imported.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from textvae.config import ModelConfig, register_model_config
from textvae.models.base import Model
from textvae.errors import TextvaeError

MODELS: Dict[str, type] = {}


def register_model(name: str, config: type):
    """Class decorator: register a :class:`textvae.models.base.Model` subclass as ``name`` with its
    config dataclass (a :class:`textvae.config.ModelConfig` subclass whose ``type`` defaults to ``name``)."""

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"register_model({name!r}): {cls!r} is not a textvae.models.base.Model subclass")
        if getattr(config(), "type", None) != name:
            raise TypeError(f"register_model({name!r}): {config.__name__}.type must default to {name!r}")
        register_model_config(name, config)
        cls.type_name, cls.config_class = name, config
        MODELS[name] = cls
        return cls

    return register


def model_class(name: str) -> type:
    if name not in MODELS:
        raise TextvaeError(f"unknown model type {name!r}; registered types: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(config: ModelConfig, vocab_size: int, num_labels: int = 2, tokenizer=None,
                label_names: Optional[Sequence[str]] = None):
    """Build the registered model ``config.type`` names (``label_names`` default to ``0..num_labels-1``;
    pretrained backbones and the back-translation pipeline need the tokenizer)."""
    names = list(label_names) if label_names is not None else [str(i) for i in range(num_labels)]
    cls = model_class(config.type)
    if not isinstance(config, cls.config_class):
        raise TextvaeError(f"a {config.type} model needs a {cls.config_class.__name__}, got {type(config).__name__}")
    return cls(config, vocab_size, names, tokenizer)
