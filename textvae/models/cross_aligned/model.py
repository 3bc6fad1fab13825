"""The cross-aligned autoencoder (Shen, Lei, Barzilay and Jaakkola 2017, "Style transfer from
non-parallel text by cross-alignment", NIPS).

A GRU encoder starts from ``[y; 0]`` (``y`` the sentence's style vector) and its final state's
last ``content_dim`` units are the content code ``z``; a GRU generator starts from ``[y'; z]``.
With the sentence's own style it reconstructs the sentence (teacher forcing); with another style
it writes a transfer by soft decoding (Gumbel-softmax, the next input the expected embedding).
For every style ``k`` a CNN discriminator over hidden-state sequences tells the generator's states
on real sentences of style ``k`` (teacher-forced, professor forcing's "teacher" sequence,
``[h0; h1..]``) from its states while transferring other sentences into ``k``; the generator
learns to make them indistinguishable ("cross-alignment"). Transfer: encode with the source style,
decode greedily or with beam search from ``[y_target; z]``.

What differs from the released TensorFlow code (shentianxiao/language-style-transfer) and why:
- styles are learned vectors (an embedding), not an affine map of the 0/1 label, so more than two
  styles work; with two they are the same family of functions;
- batches are textvae's length-bucketed ones, not 64 sentences of each style: a discriminator
  compares the rows of its style with the rows transferred into it (a batch without one of them
  skips that discriminator);
- the encoder reads its input forwards, and the noise is drawn anew at every step (the code
  shuffles each sentence once, when the batches are built);
- one backward pass per step for generator and discriminators (the trainer's contract), where the
  code ran three forward passes with fresh dropout and noise; the gate (adversarial loss only
  while both discriminator losses are below 1.2) reads this step's discriminator losses, as the
  code does;
- Adam with textvae's betas (0.9, 0.999) where the code used beta1 0.5;
- the temperature follows ``temperature`` (the paper's annealing); the code holds 0.1.
With more than two styles the source style is unknown at transfer; the encoder then starts from
the mean of the other styles' vectors (exact for two styles).
"""

from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from textvae.config import DecoderConfig
from textvae.data.batching import Batch
from textvae.data.noise import corrupt
from textvae.data.tokenizer import PAD_ID
from textvae.decoding.guidance import guided
from textvae.decoding.search import soft_decode
from textvae.models.base import DecodePlan, Model
from textvae.models.components.decoders import RNNDecoder
from textvae.models.cross_aligned.config import CrossAlignedConfig
from textvae.models.registry import register_model
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.schedules import schedule_value
from textvae.objectives.terms import Adversary, Context, LossTerm, frozen_call


class StartStateGRU(RNNDecoder):
    """A GRU generator whose initial hidden state is given in full (``[y; z]``)."""

    def __init__(self, embedding: nn.Embedding, hidden_size: int, dropout: float):
        config = DecoderConfig(type="gru", hidden_size=hidden_size, latent_init=False, latent_concat=False)
        super().__init__(embedding, 0, config, dropout)

    def initial_state(self, h0: torch.Tensor, cache: bool = True, static: bool = False):
        state = super().initial_state(h0.new_zeros(h0.size(0), 0), cache, static)
        state["h" if cache else "h0"] = h0[None].contiguous()
        return state

    def teacher_forced(self, tgt_in: torch.Tensor, h0: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(states, logits)``: the hidden states ``[h0; h1..hT]`` ``(B, T+1, H)`` (before the output
        dropout) and the logits of ``tgt_in``'s next tokens."""
        out, _ = self._run(self._inputs(tgt_in, h0.new_zeros(h0.size(0), 0)), self.initial_state(h0))
        return torch.cat([h0[:, None], out], 1), self.out(self.dropout(out))


class SequenceDiscriminator(nn.Module):
    """A CNN over a sequence of hidden states (Kim 2014 on states): filters of several widths,
    leaky ReLU, max over time, dropout, one logit (real: the teacher-forced states)."""

    def __init__(self, width: int, filter_sizes: List[int], filters: int, dropout: float):
        super().__init__()
        self.min_length = max(filter_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(width, filters, k) for k in filter_sizes)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(filter_sizes), 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = states.transpose(1, 2)
        if x.size(2) < self.min_length:  # too short for the widest filter: pad with zero states
            x = F.pad(x, (0, self.min_length - x.size(2)))
        pooled = [F.leaky_relu(conv(x), 0.01).max(-1).values for conv in self.convs]
        return self.out(self.dropout(torch.cat(pooled, -1)))[:, 0]


@register_model("cross_aligned", config=CrossAlignedConfig)
class CrossAlignedAutoencoder(Model):
    """See the module docstring."""

    can_transfer = True
    uses_strength = True  # style guidance (textvae.decoding.guidance): strength 1 is plain decoding
    min_styles = 2
    test_overrides = ("model.embedding_dim=16", "model.style_dim=8", "model.content_dim=16", "model.filters=8",
                      "model.adversarial_gate=0")

    def __init__(self, config: CrossAlignedConfig, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        width = config.style_dim + config.content_dim
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.input_dropout = nn.Dropout(config.dropout)
        self.encoder = nn.GRU(config.embedding_dim, width, batch_first=True)
        self.encoder_styles = nn.Embedding(self.num_labels, config.style_dim)
        self.generator_styles = nn.Embedding(self.num_labels, config.style_dim)
        self.decoder = StartStateGRU(self.embedding, width, config.dropout)
        self.discriminators = nn.ModuleList(
            SequenceDiscriminator(width, config.filter_sizes, config.filters, config.dropout)
            for _ in range(self.num_labels))
        self.adversary = Adversary("discriminators", list(self.discriminators), loss="disc_loss",
                                   lr=config.discriminator_lr)

    # ---------------------------------------------------------------- the networks

    def content(self, src: torch.Tensor, lengths: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """``z``: the last ``content_dim`` units of the encoder's final state, started from ``[y; 0]``
        (``styles`` ``(B,)`` label ids, or ``(B, style_dim)`` style vectors)."""
        y = self.encoder_styles(styles) if styles.dim() == 1 else styles
        h0 = torch.cat([y, y.new_zeros(y.size(0), self.config.content_dim)], -1)[None]
        packed = nn.utils.rnn.pack_padded_sequence(self.input_dropout(self.embedding(src)), lengths.clamp(min=1).cpu(),
                                                   batch_first=True, enforce_sorted=False)
        _, final = self.encoder(packed, h0.contiguous())
        return final[0, :, self.config.style_dim:]

    def start_state(self, z: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """The generator's initial state ``[y; z]`` for writing in ``styles``."""
        return torch.cat([self.generator_styles(styles).to(z.dtype), z], -1)

    def temperature(self) -> float:
        """The soft decoding's temperature; its schedule counts from the end of the warm-up."""
        return schedule_value(self.config.temperature, max(0, self.step_count - self.config.adversarial_warmup)) \
            if self.training else self.config.temperature.value

    def warming_up(self) -> bool:
        """Training and still within ``adversarial_warmup``: reconstruction alone."""
        return self.training and self.step_count < self.config.adversarial_warmup

    @staticmethod
    def discriminator_pairs(labels: torch.Tensor, targets: torch.Tensor, style: int):
        """Which rows discriminator ``style`` compares: the real sentences of that style and the
        sentences transferred into it."""
        return (labels == style).nonzero(as_tuple=True)[0], (targets == style).nonzero(as_tuple=True)[0]

    # ---------------------------------------------------------------- objective

    def loss_terms(self) -> List[LossTerm]:
        return [LossTerm("rec", lambda context: context["rec"]),
                LossTerm("adversarial", self._adversarial, weight=self.config.adversarial, when="weighted_or_eval",
                         warmup=self.config.adversarial_warmup, adversary=self.adversary)]

    def context(self, batch: Batch) -> Context:
        """Reconstruction (the teacher sequence), soft transfers (the student sequence) and the
        discriminators' own loss on detached states."""
        labels = batch.labels
        src, lengths = corrupt(batch.src, batch.lengths, self.config.noise) if self.training \
            else (batch.src, batch.lengths)
        z = self.content(src, lengths, labels)
        teach, logits = self.decoder.teacher_forced(batch.tgt_in, self.start_state(z, labels))
        rec = sentence_nll(logits, batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        rec_term = (rec.mean(), {"rec": rec.mean().detach(), "nll_token": (rec.sum() / ntokens).detach()})
        if self.warming_up():  # no transfers yet: the discriminators have nothing to compare
            return {"batch": batch, "rec": rec_term, "disc_loss": torch.zeros((), device=z.device),
                    "adversarial_on": False, "metrics": {"adversarial_on": torch.tensor(0.0)}}
        targets = self.other_styles(labels)
        soft = soft_decode(self.decoder.step_embedded, self.embedding.weight,
                           self.decoder.initial_state(self.start_state(z, targets)), len(batch),
                           teach.size(1) - 1, temperature=self.temperature(), gumbel=True,
                           hidden=lambda state: state["h"][-1])
        student = torch.cat([self.start_state(z, targets)[:, None], soft["hidden"]], 1)
        context = {"batch": batch, "teach": teach, "student": student, "targets": targets, "rec": rec_term}
        disc_loss, losses = torch.zeros((), device=z.device), []
        for style, discriminator in enumerate(self.discriminators):
            real, fake = self.discriminator_pairs(labels, targets, style)
            if len(real) and len(fake):
                d_real, d_fake = discriminator(teach[real].detach()), discriminator(student[fake].detach())
                loss = (F.binary_cross_entropy_with_logits(d_real.float(), torch.ones_like(d_real.float()))
                        + F.binary_cross_entropy_with_logits(d_fake.float(), torch.zeros_like(d_fake.float())))
                disc_loss, losses = disc_loss + loss, losses + [loss.detach()]
        context["disc_loss"] = disc_loss
        gate = self.config.adversarial_gate
        context["adversarial_on"] = bool(losses) and (gate == 0 or max(float(x) for x in losses) < gate)
        context["metrics"] = {"disc_loss": disc_loss.detach(), "temperature": torch.tensor(self.temperature()),
                              "adversarial_on": torch.tensor(float(context["adversarial_on"]))}
        return context

    def _adversarial(self, context: Context):
        """The generator's non-saturating loss of having its transfers taken for real sentences by the
        (frozen) discriminators; only while they are good enough (``adversarial_gate``)."""
        if not context["adversarial_on"]:
            return None
        batch, student = context["batch"], context["student"]
        loss = torch.zeros((), device=student.device)
        for style, discriminator in enumerate(self.discriminators):
            _, fake = self.discriminator_pairs(batch.labels, context["targets"], style)
            if len(fake):
                d_fake = frozen_call(discriminator, student[fake]).float()
                loss = loss + F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        return loss, {"adv_loss": loss.detach()}

    # ---------------------------------------------------------------- transfer

    def source_styles(self, table: nn.Embedding, target: int, rows: int) -> torch.Tensor:
        """Style vectors of ``table`` for ``rows`` sources of unknown style: the one style that is not
        the target, or the mean of those (more than two styles)."""
        others = [k for k in range(self.num_labels) if k != target]
        return table.weight[others].mean(0).expand(rows, -1)

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """The content code decoded in the target style; a ``strength`` other than 1 guides the
        generator away from the other styles (:mod:`textvae.decoding.guidance`; not in Shen et al.)."""
        z = self.content(batch.src, batch.lengths, self.source_styles(self.encoder_styles, target, len(batch)))
        styles = torch.full((len(batch),), target, dtype=torch.long, device=batch.src.device)
        decoder, codes = guided(self.decoder, lambda style: self.start_state(z, torch.full_like(styles, style)),
                                target, self.num_labels, strength)
        return [(torch.arange(len(batch)), decoder, codes)]

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """Style: the target discriminator's log-probability that a candidate's teacher-forced states
        (encoded and decoded in the target style) are a real sentence of that style. Cycle: the NLL
        of rebuilding the source from the candidate's content code in the source's style."""

        def candidate_content(candidates: Batch):
            styles = torch.full((len(candidates),), target, dtype=torch.long, device=candidates.src.device)
            return self.content(candidates.src, candidates.lengths, styles), styles

        def style_log_prob(candidates: Batch) -> torch.Tensor:
            z, styles = candidate_content(candidates)
            teach, _ = self.decoder.teacher_forced(candidates.tgt_in, self.start_state(z, styles))
            return F.logsigmoid(self.discriminators[target](teach).float())

        def rebuild_nll(candidates: Batch, sources: Batch, k: int) -> torch.Tensor:
            z, _ = candidate_content(candidates)
            y = self.source_styles(self.generator_styles, target, len(candidates)).to(z.dtype)
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            _, logits = self.decoder.teacher_forced(tgt_in, torch.cat([y, z], -1))
            return sentence_nll(logits, tgt_out)

        return style_log_prob, rebuild_nll
