"""The config of ``model.type: seq2seq``: the autoencoder / VAE / language-model family."""

from __future__ import annotations

from dataclasses import dataclass

from textvae.config import SentenceModelConfig


@dataclass
class Seq2SeqConfig(SentenceModelConfig):
    """Encoder -> latent head -> decoder; ``latent.type`` chooses AE (deterministic), VAE
    (gaussian) or language model (none), ``loss`` and ``noise`` the training tricks."""

    type: str = "seq2seq"
