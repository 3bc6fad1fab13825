"""Model components and the factory that builds a model from its config."""

from __future__ import annotations

from torch import nn

from textvae.config import ModelConfig
from textvae.models.seq2seq import Seq2SeqAutoencoder

MODELS = {"seq2seq": Seq2SeqAutoencoder}


def build_model(config: ModelConfig, vocab_size: int, num_labels: int = 2, tokenizer=None,
                label_names=None) -> nn.Module:
    """Build the model a config names (``num_labels`` and ``label_names`` are for style-aware
    models; pretrained backbones and the back-translation pipeline need the tokenizer)."""
    if config.type == "pretrained":
        from textvae.models.pretrained import PretrainedVAE  # imports transformers

        return PretrainedVAE(config, tokenizer)
    if config.type == "style_seq2seq":
        from textvae.models.style_seq2seq import StyleSeq2Seq

        return StyleSeq2Seq(config, vocab_size, num_labels)
    if config.type == "bst":
        from textvae.models.bst import BSTModel  # imports transformers

        return BSTModel(config, vocab_size, num_labels, tokenizer, label_names)
    if config.style.dim > 0:
        from textvae.models.disentangled import DisentangledVAE

        return DisentangledVAE(config, vocab_size, num_labels)
    return MODELS[config.type](config, vocab_size)


__all__ = ["build_model", "MODELS", "Seq2SeqAutoencoder"]
