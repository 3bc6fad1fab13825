import os

import pytest

from textvae.config import load_recipe


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep tokenizer caches out of the user's home; shared within a test session."""
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path_factory.getbasetemp() / "textvae-cache"))


TINY = [
    "data.path=synthetic:600",
    "tokenizer.vocab_size=200",
    "model.embedding_dim=32",
    "model.encoder.hidden_size=32",
    "model.decoder.hidden_size=32",
    "model.latent.dim=16",
    "train.max_tokens=512",
    "train.max_sentences=32",
    "train.eval_every=5",
    "train.checkpoint_every=5",
    "train.log_every=1",
    "train.eval_max_sentences=64",
    "train.max_minutes=null",
]


@pytest.fixture
def tiny_config():
    """A tiny synthetic autoencoder recipe that trains in seconds."""

    def make(*overrides):
        return load_recipe(os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml"),
                           TINY + list(overrides))

    return make
