"""Sequence-to-sequence sentence models: Encoder -> latent head -> Decoder.

One class covers the (denoising) autoencoder, the VAE with its training tricks and the
language-model baseline; the latent head and the loss config decide which:

- ``latent.type: deterministic`` (+ ``noise``): (denoising) autoencoder;
- ``latent.type: gaussian``: VAE (Bowman et al. 2016), with KL annealing, decoder word
  dropout, free bits, beta, BN on the posterior mean (BN-VAE) and MMD (InfoVAE) from ``loss``;
- ``latent.type: none``: the decoder alone, an RNN/Transformer language model.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn

from textvae.data.batching import Batch
from textvae.data.noise import corrupt, word_dropout
from textvae.data.tokenizer import PAD_ID
from textvae.decoding import greedy
from textvae.models.base import Model
from textvae.models.components.decoders import build_decoder
from textvae.models.components.encoders import build_encoder
from textvae.models.components.latent import build_latent
from textvae.models.registry import register_model
from textvae.models.seq2seq.config import Seq2SeqConfig
from textvae.objectives.kl import gaussian_kl, kl_penalty
from textvae.objectives.mmd import mmd
from textvae.objectives.reconstruction import sentence_nll, token_accuracy
from textvae.objectives.schedules import schedule_value
from textvae.objectives.disentangle import (TCDiscriminator, capacity_target, covariance_penalty, dip_penalty,
                                            discriminator_loss, f_statistic_loss, kl_decomposition, tc_estimate)
from textvae.objectives.terms import Adversary, Context, LossTerm, frozen_call


class SentenceVAE(Model):
    """What the sentence models share: a posterior over a code, a decoder conditioned on it, and
    the reconstruction / KL / MMD terms (see the module docstring). Subclasses give the networks
    (:meth:`build`) and may add terms."""

    def __init__(self, config, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.has_latent = config.latent.type != "none"
        self.is_gaussian = config.latent.type == "gaussian"
        self.dataset_size = 0
        self.build(vocab_size, tokenizer)
        if config.loss.disentangle.type == "factorvae":  # built last: parameter order = optimizer order
            self.tc_discriminator = TCDiscriminator(self._penalised_dim())

    def build(self, vocab_size: int, tokenizer) -> None:
        raise NotImplementedError

    def _penalised_dim(self) -> int:
        """The size of the code the KL and the disentangling penalties see (``context["latent"]``)."""
        return self.config.latent.dim

    @property
    def latent_dim(self) -> int:
        return self.config.latent.dim if self.has_latent else 0

    @property
    def is_language_model(self) -> bool:
        return not self.has_latent

    @property
    def has_prior(self) -> bool:
        return self.has_latent

    # ---------------------------------------------------------------- objective

    def loss_terms(self) -> List[LossTerm]:
        loss = self.config.loss
        kind = loss.disentangle.type
        terms = [LossTerm("rec", self._rec)]
        if self.is_gaussian:
            replaced = kind in ("capacity", "tcvae")  # these take the KL term's place (it is still logged)
            terms.append(LossTerm("kl", self._kl, weight=0.0 if replaced else
                                  (lambda step: loss.beta * schedule_value(loss.kl_weight, step)),
                                  weight_metric="kl_weight"))
        if self.has_latent and loss.mmd_weight > 0:
            terms.append(LossTerm("mmd", self._mmd, weight=loss.mmd_weight, when="weighted"))
        if kind != "none":
            terms.append(self._disentangle_term(kind))
        return terms

    def prepare(self, data) -> None:
        self.dataset_size = len(data.ids)  # beta-TCVAE's minibatch-weighted sampling needs N

    def _disentangle_term(self, kind: str) -> LossTerm:
        """The penalty of ``loss.disentangle`` (see :mod:`textvae.objectives.disentangle`)."""
        cfg = self.config.loss.disentangle

        def compute(context: Context):
            latent = context["latent"]
            z, mean = latent["z"].float(), latent["mean"].float()
            logvar = latent["logvar"].float() if "logvar" in latent else None
            if kind == "capacity":
                kl = gaussian_kl(mean, logvar).sum(1).mean()
                c = capacity_target(self.step_count, cfg.c_max, cfg.c_steps)
                return cfg.gamma * (kl - c).abs(), {"capacity_c": torch.tensor(c), "capacity_gamma": torch.tensor(cfg.gamma)}
            if kind == "tcvae":
                parts = kl_decomposition(z, mean, logvar, self.dataset_size or len(z))
                value = cfg.alpha * parts["mi"] + cfg.beta * parts["tc"] + cfg.dim_kl * parts["dim_kl"]
                return value, {"mi": parts["mi"].detach(), "tc": parts["tc"].detach(),
                               "dim_kl": parts["dim_kl"].detach(), "tc_beta": torch.tensor(cfg.beta)}
            if kind == "factorvae":
                tc = tc_estimate(frozen_call(self.tc_discriminator, z))  # the model does not train the discriminator
                context["tc_disc_loss"] = discriminator_loss(self.tc_discriminator, z)  # the discriminator's own loss
                return cfg.gamma * tc, {"tc": tc.detach(), "tc_gamma": torch.tensor(cfg.gamma)}
            if kind in ("dip1", "dip2"):
                penalty = dip_penalty(mean, logvar, kind, cfg.lambda_od, cfg.lambda_d)
                return penalty, {"dip": penalty.detach()}
            if kind == "fstat":
                loss = f_statistic_loss(z, context["batch"].labels, cfg.dims)
                return cfg.gamma * loss, {"fstat_loss": loss.detach(), "fstat_gamma": torch.tensor(cfg.gamma)}
            penalty = covariance_penalty(z)
            return cfg.gamma * penalty, {"l_sigma": penalty.detach(), "l_sigma_gamma": torch.tensor(cfg.gamma)}

        adversary = None
        if kind == "factorvae":
            adversary = Adversary("tc_discriminator", [self.tc_discriminator], loss="tc_disc_loss",
                                  lr=cfg.discriminator_lr)
        return LossTerm(kind, compute, adversary=adversary)

    def context(self, batch: Batch) -> Context:
        src, lengths = batch.src, batch.lengths
        if self.training:
            src, lengths = corrupt(src, lengths, self.config.noise)
        posterior = self.encode(src, lengths)
        # KL and MMD apply to the content part of a split code, else to the whole code
        return {"batch": batch, "posterior": posterior, "latent": posterior.get("content", posterior)}

    def decoder_inputs(self, batch: Batch) -> torch.Tensor:
        """Decoder inputs, with word dropout to <unk> while training (Bowman et al. 2016)."""
        rate = schedule_value(self.config.decoder.word_dropout, self.step_count)
        if not self.training or rate <= 0:
            return batch.tgt_in
        dropped, _ = word_dropout(batch.tgt_in[:, 1:], batch.lengths, rate)
        return torch.cat([batch.tgt_in[:, :1], dropped], dim=1)

    def _rec(self, context: Context):
        batch, z = context["batch"], context["posterior"]["z"]
        tgt_in = self.decoder_inputs(batch)
        if self.training:
            rec = self.decoder.nll(tgt_in, z, batch.tgt_out)
        else:  # the logits, for token accuracy too (an argmax costs ~10% of a training step)
            logits = self.decoder(tgt_in, z)
            rec = sentence_nll(logits, batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        metrics = {"rec": rec.mean().detach(), "nll_token": (rec.sum() / ntokens).detach()}
        if not self.training:
            metrics["token_acc"] = token_accuracy(logits.detach(), batch.tgt_out)
        return rec.mean(), metrics

    def _kl(self, context: Context):
        latent = context["latent"]
        kl_dims = gaussian_kl(latent["mean"].float(), latent["logvar"].float())
        return kl_penalty(kl_dims, self.config.loss.free_bits), {"kl": kl_dims.sum(1).mean().detach()}

    def _mmd(self, context: Context):
        z = context["latent"]["z"].float()
        divergence = mmd(z, torch.randn_like(z), self.config.loss.mmd_kernel)
        return divergence, {"mmd": divergence.detach()}

    def finish_metrics(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if "kl" in out:
            out["elbo"] = out["rec"] + out["kl"]
        if self.training and self.config.decoder.word_dropout.value > 0:
            out["word_dropout"] = torch.tensor(schedule_value(self.config.decoder.word_dropout, self.step_count))
        return out

    # ---------------------------------------------------------------- decoding

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, max_len: int) -> torch.Tensor:
        """Greedy decoding from latent codes ``z`` ``(B, D)``; ``(B, max_len)`` token ids."""
        return greedy(self.decoder.step, self.decoder.select, self.decoder.initial_state(z), z.size(0), max_len,
                      device=z.device)

    @torch.inference_mode()
    def reconstruct(self, batch: Batch, max_len: int) -> torch.Tensor:
        """Greedy reconstruction from the posterior mean; ``(B, max_len)`` token ids."""
        return self.generate(self.encode(batch.src, batch.lengths)["mean"], max_len)


@register_model("seq2seq", config=Seq2SeqConfig)
class Seq2SeqAutoencoder(SentenceVAE):
    """A sentence autoencoder, VAE or language model with textvae's own encoders and decoders
    (GRU/LSTM/Transformer)."""

    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16", "model.latent.type=gaussian",
                      "model.latent.dim=8", "model.loss.mmd_weight=1", "model.noise.word_dropout=0.1")

    def build(self, vocab_size: int, tokenizer) -> None:
        config = self.config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        if self.has_latent:
            self.encoder = build_encoder(self.embedding, config.encoder)
            self.latent = build_latent(self.encoder.output_size, config.latent)
        self.decoder = build_decoder(self.embedding, self.latent_dim, config.decoder, config.dropout)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        if not self.has_latent:
            empty = src.new_zeros(src.size(0), 0, dtype=self.embedding.weight.dtype)
            return {"z": empty, "mean": empty}
        _, sentence = self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))
        return self.latent(sentence)

    def input_limit(self) -> Optional[int]:
        limits = []
        if self.config.decoder.type == "transformer":
            limits.append(self.config.decoder.max_length - 1)  # BOS takes a position
        if self.has_latent and self.config.encoder.type == "transformer":
            limits.append(self.encoder.max_length)
        return min(limits) if limits else None
