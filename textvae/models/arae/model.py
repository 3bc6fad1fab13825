"""Adversarially regularized autoencoders for style transfer (Zhao, Kim, Zhang, Rush and LeCun 2018,
"Adversarially regularized autoencoders", ICML).

An LSTM encoder's final state, normalised to the unit sphere, is the code (with Gaussian noise of
an annealed size while training). One LSTM decoder per style reads the code at every input and
reconstructs the sentences of its style. A generator maps N(0, I) noise to codes, and a WGAN critic
with gradient penalty (Gulrajani et al. 2017) tells the encoder's codes from the generator's; the
generator and (with a small weight) the encoder learn to fool it, which regularises the code space
and makes the generator a sampler of codes. A code classifier learns the style from the code, and
the encoder learns to make it predict another style, so the code keeps the content and the
decoders write the style. Transfer: encode, decode with the target style's decoder.

What differs from the released code (jakezhaojb/ARAE, yelp/) and why:
- one backward pass per training step for every part (the trainer's contract) instead of separate
  autoencoder, classifier, critic, generator and encoder steps on different batches; the critic
  still gets ``critic_steps`` updates per step (the extra ones on this step's codes, remembered,
  against fresh generator samples);
- Adam for the autoencoder (textvae's optimizer, ``train.lr``) where the code used SGD with
  learning rate 1, and textvae's Adam betas for the GAN parts where the code used beta1 0.5;
- batches mix the styles (each decoder trains on the rows of its style) instead of alternating
  one batch per style;
- the code classifier predicts one of the corpus' styles (softmax; any number of styles) and the
  encoder is pushed towards another style than the sentence's, where the code used a sigmoid and
  the flipped label of two styles;
- the decoders keep their own embeddings and share the output layer, as in the code.
Decoding from a code without a style (``textvae reconstruct``, ``report samples``) uses the
first style's decoder.
"""

from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from textvae.config import DecoderConfig
from textvae.data.batching import Batch
from textvae.data.tokenizer import PAD_ID
from textvae.decoding import greedy
from textvae.errors import TextvaeError
from textvae.models.arae.config import ARAEConfig
from textvae.models.base import DecodePlan, Model
from textvae.models.components.decoders import RNNDecoder
from textvae.models.registry import register_model
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.schedules import schedule_value
from textvae.objectives.terms import Adversary, Context, LossTerm, frozen_call


def _mlp(inputs: int, hidden: int, outputs: int, activation: nn.Module, first_norm: bool) -> nn.Sequential:
    """Two hidden layers of ``hidden`` units with batch norm (on the first only if ``first_norm``)."""
    layers = [nn.Linear(inputs, hidden)] + ([nn.BatchNorm1d(hidden)] if first_norm else []) + [activation,
              nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), activation, nn.Linear(hidden, outputs)]
    return nn.Sequential(*layers)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): the critic's gradient norm on random interpolates of real
    and fake codes, pushed towards 1."""
    alpha = torch.rand(real.size(0), 1, device=real.device, dtype=real.dtype)
    with torch.enable_grad():  # also in evaluation, where the loss is only logged
        points = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
        grad, = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


@register_model("arae", config=ARAEConfig)
class ARAE(Model):
    """See the module docstring."""

    can_transfer = True
    has_prior = True
    min_styles = 2
    test_overrides = ("model.embedding_dim=16", "model.hidden_size=16", "model.noise_size=8", "model.mlp_size=16",
                      "model.critic_steps=2")

    def __init__(self, config: ARAEConfig, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        hidden = config.hidden_size
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.input_dropout = nn.Dropout(config.dropout)
        self.encoder = nn.LSTM(config.embedding_dim, hidden, batch_first=True)
        decoder = DecoderConfig(type="lstm", hidden_size=hidden, latent_init=False, latent_concat=True)
        self.decoders = nn.ModuleList(
            RNNDecoder(nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID), hidden, decoder,
                       config.dropout) for _ in range(self.num_labels))
        for other in self.decoders[1:]:  # one output layer for all decoders, as in the released code
            other.out = self.decoders[0].out
        self.generator = _mlp(config.noise_size, config.mlp_size, hidden, nn.ReLU(), first_norm=True)
        self.critic = _mlp(hidden, config.mlp_size, 1, nn.LeakyReLU(0.2), first_norm=False)
        self.classifier = _mlp(hidden, config.mlp_size, self.num_labels, nn.ReLU(), first_norm=False)
        self.critic_adversary = Adversary("critic", [self.critic], loss="critic_loss", lr=config.gan_lr,
                                          extra_steps=config.critic_steps - 1, extra_loss=self._extra_critic_loss)
        self.generator_adversary = Adversary("generator", [self.generator], loss="gen_loss", lr=config.gan_lr)
        self.classifier_adversary = Adversary("classifier", [self.classifier], loss="clf_loss", lr=config.gan_lr)
        self._real_codes: Dict[str, torch.Tensor] = {}  # this step's codes, for the critic's extra updates

    @property
    def latent_dim(self) -> int:
        return self.config.hidden_size

    @property
    def decoder(self) -> RNNDecoder:
        """The decoder for codes without a style: the first style's."""
        return self.decoders[0]

    # ---------------------------------------------------------------- the networks

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``mean``: the code on the unit sphere; ``z``: with Gaussian noise while training."""
        packed = nn.utils.rnn.pack_padded_sequence(self.input_dropout(self.embedding(src)), lengths.clamp(min=1).cpu(),
                                                   batch_first=True, enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        code = F.normalize(h[-1], dim=-1)
        noise = schedule_value(self.config.code_noise, self.step_count) if self.training else 0.0
        return {"mean": code, "z": code + noise * torch.randn_like(code) if noise > 0 else code}

    @torch.inference_mode()
    def reconstruct(self, batch: Batch, max_len: int) -> torch.Tensor:
        """Greedy reconstruction, each sentence by the decoder of its own style (the first style's
        where the label is unknown)."""
        code = self.encode(batch.src, batch.lengths)["mean"]
        labels = batch.labels.clamp(min=0)
        out = torch.full((len(batch), max_len), PAD_ID, dtype=torch.long, device=code.device)
        for style, decoder in enumerate(self.decoders):
            rows = (labels == style).nonzero(as_tuple=True)[0]
            if len(rows):
                out[rows] = greedy(decoder.step, decoder.select, decoder.initial_state(code[rows]), len(rows),
                                   max_len, device=code.device)
        return out

    def prior_noise(self, n: int, generator=None) -> torch.Tensor:
        """The generator's N(0, I) noise (``noise_size`` dims)."""
        return torch.randn(n, self.config.noise_size, generator=generator).to(next(self.parameters()).device)

    def codes_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Codes from the generator (in eval mode), so that paths in noise space can be decoded."""
        was_training = self.generator.training
        self.generator.eval()
        with torch.no_grad():
            codes = self.generator(noise)
        self.generator.train(was_training)
        return codes

    def _generated(self, n: int, device) -> torch.Tensor:
        return self.generator(torch.randn(n, self.config.noise_size, device=device))

    # ---------------------------------------------------------------- objective

    def loss_terms(self) -> List[LossTerm]:
        config = self.config
        return [LossTerm("rec", lambda context: context["rec"]),
                LossTerm("classifier_adversarial", self._fool_classifier, weight=config.classifier_adversarial,
                         when="weighted_or_eval", adversary=self.classifier_adversary),
                LossTerm("code_adversarial", self._fool_critic, weight=config.code_adversarial,
                         when="weighted_or_eval", adversary=(self.critic_adversary, self.generator_adversary))]

    def context(self, batch: Batch) -> Context:
        """Each decoder's reconstruction of its style's sentences from the noisy codes; the
        classifier's, critic's and generator's own losses."""
        labels = batch.labels
        posterior = self.encode(batch.src, batch.lengths)
        rec_sum = torch.zeros((), device=batch.src.device)
        for style, decoder in enumerate(self.decoders):
            rows = (labels == style).nonzero(as_tuple=True)[0]
            if len(rows):
                rec_sum = rec_sum + decoder.nll(batch.tgt_in[rows], posterior["z"][rows], batch.tgt_out[rows]).sum()
        rec = rec_sum / len(batch)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        code = posterior["mean"]
        real = code.detach()
        logits = self.classifier(real)
        clf_loss = F.cross_entropy(logits.float(), labels)
        fake = self._generated(len(batch), code.device)
        critic_loss = self._critic_loss(real, fake.detach())
        if self.training:
            self._real_codes = {"real": real}
        gen_loss = frozen_call(self.critic, fake).float().mean()
        metrics = {"rec": rec.detach(), "nll_token": (rec_sum / ntokens).detach(), "clf_loss": clf_loss.detach(),
                   "clf_acc": (logits.argmax(-1) == labels).float().mean(), "critic_loss": critic_loss.detach(),
                   "gen_loss": gen_loss.detach()}
        return {"batch": batch, "code": code, "rec": (rec, {}), "clf_loss": clf_loss, "critic_loss": critic_loss,
                "gen_loss": gen_loss, "metrics": metrics}

    def _critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The critic scores generated codes high and real ones low (the released code's signs),
        with the gradient penalty."""
        critic = self.critic(real).float().mean() - self.critic(fake).float().mean()
        return critic + self.config.gp_weight * gradient_penalty(self.critic, real, fake)

    def _extra_critic_loss(self):
        """One more critic update: this step's codes against fresh generator samples."""
        if not self._real_codes:
            return None
        real = self._real_codes["real"]
        with torch.no_grad():
            fake = self._generated(len(real), real.device)
        return self._critic_loss(real, fake)

    def _fool_classifier(self, context: Context):
        """The encoder makes the (frozen) code classifier predict another style than the sentence's."""
        labels = context["batch"].labels
        logits = frozen_call(self.classifier, context["code"]).float()
        loss = F.cross_entropy(logits, self.other_styles(labels))
        return loss, {"class_adv_loss": loss.detach()}

    def _fool_critic(self, context: Context):
        """The encoder moves its codes towards where the (frozen) critic scores the generator's."""
        value = -frozen_call(self.critic, context["code"]).float().mean()
        return value, {"code_adv_loss": value.detach()}

    # ---------------------------------------------------------------- transfer

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        code = self.encode(batch.src, batch.lengths)["mean"]
        return [(torch.arange(len(batch)), self.decoders[target], code)]

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """Only the cycle term: the NLL of rebuilding the source from a candidate's code with the
        decoder of the source's style (the code classifier is trained to be fooled, so it cannot
        judge the style of a candidate)."""
        if style:
            raise TextvaeError("an ARAE's code classifier is trained to be fooled and cannot score styles; "
                               "rerank with --rerank-cycle or --rerank-lm instead")
        if cycle and self.num_labels != 2:
            raise TextvaeError("cycle reranking needs the source's style, known only for two-style corpora")
        source = 1 - target

        def rebuild_nll(candidates: Batch, sources: Batch, k: int) -> torch.Tensor:
            code = self.encode(candidates.src, candidates.lengths)["mean"]
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            return sentence_nll(self.decoders[source](tgt_in, code), tgt_out)

        return None, rebuild_nll
