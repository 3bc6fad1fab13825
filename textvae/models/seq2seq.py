"""Sequence-to-sequence sentence models: Encoder -> latent head -> Decoder.

One class covers the (denoising) autoencoder, the VAE with its training tricks and the
language-model baseline; the latent head and the loss config decide which:

- ``latent.type: deterministic`` (+ ``noise``): (denoising) autoencoder;
- ``latent.type: gaussian``: VAE (Bowman et al. 2016), with KL annealing, decoder word
  dropout, free bits, beta, BN on the posterior mean (BN-VAE) and MMD (InfoVAE) from ``loss``;
- ``latent.type: none``: the decoder alone, an RNN/Transformer language model.
"""

from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn

from textvae.config import ModelConfig
from textvae.data.batching import Batch
from textvae.data.noise import local_shuffle, token_drop, word_dropout
from textvae.data.tokenizer import PAD_ID
from textvae.decoding import greedy
from textvae.models.decoders import build_decoder
from textvae.models.encoders import build_encoder
from textvae.models.latent import build_latent
from textvae.objectives.kl import gaussian_kl, kl_penalty
from textvae.objectives.mmd import mmd
from textvae.objectives.reconstruction import sentence_nll, token_accuracy
from textvae.objectives.schedules import schedule_value


class Seq2SeqAutoencoder(nn.Module):
    """A sentence autoencoder, VAE or language model (see the module docstring).

    ``forward(batch)`` returns the loss dict the trainer optimises: ``loss`` (the objective),
    ``rec`` (summed NLL per sentence), ``kl`` (true batch-mean KL, nats), ``elbo`` (``rec + kl``,
    the negative ELBO per sentence), ``nll_token``, ``token_acc`` and the scheduled weights.
    """

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        self.config = config
        self.step_count = 0  # the trainer's step, for schedules
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        self.has_latent = config.latent.type != "none"
        if self.has_latent:
            self.encoder = build_encoder(self.embedding, config.encoder)
            self.latent = build_latent(self.encoder.output_size, config.latent)
        self.decoder = build_decoder(self.embedding, self.latent_dim, config.decoder, config.dropout)

    @property
    def latent_dim(self) -> int:
        return self.config.latent.dim if self.has_latent else 0

    @property
    def is_gaussian(self) -> bool:
        return self.config.latent.type == "gaussian"

    def set_step(self, step: int) -> None:
        """Called by the trainer before each update so that schedules follow training."""
        self.step_count = step

    def corrupt(self, src: torch.Tensor, lengths: torch.Tensor):
        noise = self.config.noise
        src, lengths = token_drop(src, lengths, noise.token_drop)
        src, lengths = local_shuffle(src, lengths, noise.shuffle_window)
        return word_dropout(src, lengths, noise.word_dropout)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The posterior: ``z`` (a sample in training), ``mean`` and, for VAEs, ``logvar``."""
        if not self.has_latent:
            empty = src.new_zeros(src.size(0), 0, dtype=self.embedding.weight.dtype)
            return {"z": empty, "mean": empty}
        _, sentence = self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))
        return self.latent(sentence)

    def decoder_inputs(self, batch: Batch) -> torch.Tensor:
        """Decoder inputs, with word dropout to <unk> while training (Bowman et al. 2016)."""
        rate = schedule_value(self.config.decoder.word_dropout, self.step_count)
        if not self.training or rate <= 0:
            return batch.tgt_in
        dropped, _ = word_dropout(batch.tgt_in[:, 1:], batch.lengths, rate)
        return torch.cat([batch.tgt_in[:, :1], dropped], dim=1)

    def forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        out = self._reconstruction_terms(batch)
        del out["posterior"]
        return out

    def _reconstruction_terms(self, batch: Batch) -> Dict[str, torch.Tensor]:
        """The loss dict plus ``posterior``; KL and MMD apply to ``posterior["content"]`` when
        the code has parts (a split style/content latent), else to the whole code."""
        src, lengths = batch.src, batch.lengths
        if self.training:
            src, lengths = self.corrupt(src, lengths)
        posterior = self.encode(src, lengths)
        tgt_in = self.decoder_inputs(batch)
        if self.training:
            rec = self.decoder.nll(tgt_in, posterior["z"], batch.tgt_out)
        else:  # the logits, for token accuracy too (an argmax costs ~10% of a training step)
            logits = self.decoder(tgt_in, posterior["z"])
            rec = sentence_nll(logits, batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        out = {"rec": rec.mean().detach(), "nll_token": (rec.sum() / ntokens).detach()}
        if not self.training:
            out["token_acc"] = token_accuracy(logits.detach(), batch.tgt_out)
        loss = rec.mean()
        latent = posterior.get("content", posterior)
        if self.is_gaussian:
            kl_dims = gaussian_kl(latent["mean"].float(), latent["logvar"].float())
            weight = self.config.loss.beta * schedule_value(self.config.loss.kl_weight, self.step_count)
            loss = loss + weight * kl_penalty(kl_dims, self.config.loss.free_bits)
            kl = kl_dims.sum(1).mean().detach()
            out.update(kl=kl, elbo=out["rec"] + kl, kl_weight=torch.tensor(weight))
        if self.has_latent and self.config.loss.mmd_weight > 0:
            z = latent["z"].float()
            divergence = mmd(z, torch.randn_like(z), self.config.loss.mmd_kernel)
            loss = loss + self.config.loss.mmd_weight * divergence
            out["mmd"] = divergence.detach()
        if self.training and self.config.decoder.word_dropout.value > 0:
            out["word_dropout"] = torch.tensor(schedule_value(self.config.decoder.word_dropout, self.step_count))
        out["loss"] = loss
        out["posterior"] = posterior
        return out

    # ---------------------------------------------------------------- decoding

    def decode_state(self, z: torch.Tensor):
        return self.decoder.initial_state(z)

    def step(self, state, last_tokens):
        return self.decoder.step(state, last_tokens)

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, max_len: int) -> torch.Tensor:
        """Greedy decoding from latent codes ``z`` ``(B, D)``; ``(B, max_len)`` token ids."""
        return greedy(self.step, self.decoder.select, self.decode_state(z), z.size(0), max_len, device=z.device)

    @torch.inference_mode()
    def reconstruct(self, batch: Batch, max_len: int) -> torch.Tensor:
        """Greedy reconstruction from the posterior mean; ``(B, max_len)`` token ids."""
        return self.generate(self.encode(batch.src, batch.lengths)["mean"], max_len)

    def optimizer_groups(self) -> List[dict]:
        """Parameter groups with their own optimizer and the loss key each one minimises."""
        return [{"name": "main", "params": list(self.parameters()), "loss": "loss"}]
