"""The autoencoder / VAE / language-model family (``model.type: seq2seq``)."""

from textvae.models.seq2seq.config import Seq2SeqConfig
from textvae.models.seq2seq.model import Seq2SeqAutoencoder, SentenceVAE

__all__ = ["Seq2SeqAutoencoder", "Seq2SeqConfig", "SentenceVAE"]
