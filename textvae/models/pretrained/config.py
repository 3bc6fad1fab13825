"""The config of ``model.type: pretrained``: an Optimus-style VAE on `transformers` backbones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from textvae.config import DecoderConfig, LatentConfig, LossConfig, ModelConfig, NoiseConfig, check_latent_terms


@dataclass
class BackboneConfig:
    """Local `transformers` checkpoints (or hub names when online) for ``model.type: pretrained``."""

    encoder: Optional[str] = None  # an encoder such as BERT (AutoModel); not needed for a language model
    decoder: Optional[str] = None  # a causal LM such as GPT-2 (AutoModelForCausalLM); its tokenizer is used
    pooling: Literal["first", "mean"] = "first"  # sentence vector: first token ([CLS]) or mean of states


@dataclass
class PretrainedConfig(ModelConfig):
    """The sentence model's latent, loss and noise keys, with pretrained backbones (``pretrained``)
    in place of textvae's encoder and decoder networks; of ``decoder`` only how ``z`` conditions
    the causal LM (``latent_init``: a prefix embedding, ``latent_concat``: added to every input)
    and ``word_dropout`` apply."""

    type: str = "pretrained"
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    latent: LatentConfig = field(default_factory=LatentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    pretrained: BackboneConfig = field(default_factory=BackboneConfig)

    def check(self):
        yield from check_latent_terms(self)
        if not self.pretrained.decoder:
            yield "pretrained.decoder", "must name a local causal-LM directory (e.g. a GPT-2 checkpoint)"
        if self.latent.type != "none" and not self.pretrained.encoder:
            yield "pretrained.encoder", "must name a local encoder directory (e.g. a BERT checkpoint)"
