"""Sequence-to-sequence autoencoder: Encoder -> latent head -> Decoder."""

from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn

from textvae.config import ModelConfig
from textvae.data.batching import Batch
from textvae.data.noise import local_shuffle, token_drop, word_dropout
from textvae.data.tokenizer import PAD_ID
from textvae.decoding import greedy
from textvae.models.decoders import RNNDecoder
from textvae.models.encoders import RNNEncoder
from textvae.models.latent import build_latent
from textvae.objectives.reconstruction import sentence_nll, token_accuracy


class Seq2SeqAutoencoder(nn.Module):
    """A (denoising) sentence autoencoder; the latent head decides AE vs. VAE.

    ``forward(batch)`` returns the loss dict the trainer optimises: ``loss`` (the
    objective), ``rec`` (summed NLL per sentence), ``nll_token`` and ``token_acc``.
    """

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = RNNEncoder(self.embedding, config.encoder)
        self.latent = build_latent(self.encoder.output_size, config.latent)
        self.decoder = RNNDecoder(self.embedding, config.latent.dim, config.decoder, dropout=config.dropout)

    @property
    def latent_dim(self) -> int:
        return self.config.latent.dim

    def corrupt(self, src: torch.Tensor, lengths: torch.Tensor):
        noise = self.config.noise
        src, lengths = token_drop(src, lengths, noise.token_drop)
        src, lengths = local_shuffle(src, lengths, noise.shuffle_window)
        return word_dropout(src, lengths, noise.word_dropout)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        _, sentence = self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))
        return self.latent(sentence)

    def forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        src, lengths = batch.src, batch.lengths
        if self.training:
            src, lengths = self.corrupt(src, lengths)
        posterior = self.encode(src, lengths)
        logits = self.decoder(batch.tgt_in, posterior["z"])
        rec = sentence_nll(logits, batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        out = {
            "loss": rec.mean(),
            "rec": rec.mean().detach(),
            "nll_token": (rec.sum() / ntokens).detach(),
            "token_acc": token_accuracy(logits.detach(), batch.tgt_out),
        }
        for key in ("kl", "mmd"):  # latent heads that regularise add their terms here
            if key in posterior:
                out[key] = posterior[key]
        return out

    # ---------------------------------------------------------------- decoding

    def decode_state(self, z: torch.Tensor):
        return self.decoder.initial_state(z)

    def step(self, state, last_tokens):
        return self.decoder.step(state, last_tokens)

    @torch.inference_mode()
    def reconstruct(self, batch: Batch, max_len: int) -> torch.Tensor:
        """Greedy reconstruction from the posterior mean; ``(B, max_len)`` token ids."""
        z = self.encode(batch.src, batch.lengths)["mean"]
        return greedy(self.step, self.decoder.select, self.decode_state(z), len(batch), max_len,
                      device=z.device)

    def optimizer_groups(self) -> List[dict]:
        """Parameter groups with their own optimizer and the loss key each one minimises."""
        return [{"name": "main", "params": list(self.parameters()), "loss": "loss"}]
