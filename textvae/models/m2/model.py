"""The semi-supervised VAE M2 (Kingma, Rezende, Mohamed and Welling 2014, "Semi-supervised
learning with deep generative models", NeurIPS) on sentences.

The label ``y`` is a latent variable that is observed for the labelled sentences and summed out
for the others. Inference: ``q(y|x)`` (a classifier on the encoder's sentence vector) and
``q(z|x,y)`` (a Gaussian head on the sentence vector and ``y``'s one-hot); generation:
``p(x|y,z)`` (the decoder reads ``[onehot(y); z]``) with ``p(z) = N(0, I)`` and a uniform ``p(y)``.

- a labelled sentence contributes ``L(x,y) = E_q(z|x,y)[-log p(x|y,z)] + KL(q(z|x,y) || p(z)) + log K``;
- an unlabelled one ``U(x) = sum_y q(y|x) L(x,y) - H(q(y|x))``: every label is decoded (the
  enumeration of the paper, K decoder passes), and ``q(y|x)`` learns from which label explains
  the sentence best;
- the labelled ones add ``alpha * -log q(y|x)``, the paper's classification term.

What differs from the paper and its code: the networks are textvae's GRU/Transformer encoder and
decoder instead of MLPs on pixels; ``alpha`` weighs the mean classification loss of the labelled
sentences in a batch (the paper's ``0.1 N`` on a sum over the data is 0.1 per sentence; sentences
have bounds of 30-60 nats, so the default is 10); each training step adds ``labelled_batch``
labelled sentences drawn from the kept ones (the paper pairs labelled and unlabelled
minibatches); the KL inside each bound follows the recipe's KL-annealing schedule (as sentence
VAEs need, Bowman et al. 2016). M1+M2 (M2 on a trained model's codes) is a few-label classifier
of :mod:`textvae.evaluation.m1m2` (``evaluate semisupervised --classifier m1m2``).

The model's code, for everything that reads codes (decoding, interpolation, few-label
evaluation, traversals), is ``[onehot(y); mean of q(z|x,y)]`` with ``y`` the classifier's
choice: the label is the "style" part (``style_dim`` = number of labels). Transfer decodes a
sentence's ``z`` with another ``y``.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from textvae.data.batching import Batch, collate
from textvae.data.noise import corrupt
from textvae.decoding.guidance import guided
from textvae.errors import TextvaeError
from textvae.io import atomic_write_text
from textvae.models.base import DecodePlan, TrainingData
from textvae.models.components.decoders import build_decoder
from textvae.models.components.encoders import build_encoder
from textvae.models.components.latent import build_latent
from textvae.models.m2.config import M2Config
from textvae.models.registry import register_model
from textvae.models.seq2seq.model import Seq2SeqAutoencoder
from textvae.objectives.kl import gaussian_kl
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.schedules import schedule_value
from textvae.objectives.terms import Context, LossTerm
from textvae.data.tokenizer import PAD_ID

LABELLED_FILE = "labelled.json"


@register_model("m2", config=M2Config)
class M2Model(Seq2SeqAutoencoder):
    """M2: the label as a partly observed latent (see the module docstring)."""

    can_transfer = True
    uses_strength = True  # style guidance (textvae.decoding.guidance): strength 1 is plain decoding
    has_classifier = True
    min_styles = 2
    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16",
                      "model.latent.type=gaussian", "model.latent.dim=8", "model.labelled=0.5",
                      "model.labelled_batch=4")

    def __init__(self, config: M2Config, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.is_gaussian = False  # the code [onehot(y); z] is not one Gaussian posterior (see evaluate vae)
        self.style_dim = self.num_labels
        self.labelled_rows: Optional[List[int]] = None  # set by prepare(): the training sentences whose labels are kept
        self._labelled_mask: Optional[torch.Tensor] = None
        self._pool: Optional[tuple] = None  # (token ids, labels, rows) of the kept labelled sentences
        self.register_buffer("labels_seen", torch.zeros((), dtype=torch.long))  # saved with the weights

    def build(self, vocab_size: int, tokenizer) -> None:
        config, k = self.config, self.num_labels
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = build_encoder(self.embedding, config.encoder)
        hidden = self.encoder.output_size
        self.classifier = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, k))  # q(y|x)
        self.latent = build_latent(hidden + k, config.latent)  # q(z|x,y)
        self.decoder = build_decoder(self.embedding, k + config.latent.dim, config.decoder, config.dropout)  # p(x|y,z)

    @property
    def latent_dim(self) -> int:
        return self.num_labels + self.config.latent.dim

    # ------------------------------------------------------------ labelled sentences

    def prepare(self, data: TrainingData) -> None:
        """Choose the labelled sentences: ``labelled_count`` or ``labelled`` x N, balanced over the
        labels, drawn with the run's seed (the same on resume)."""
        super().prepare(data)
        config, k, n = self.config, self.num_labels, len(data.labels)
        wanted = config.labelled_count if config.labelled_count is not None else round(config.labelled * n)
        by_label = [[i for i, y in enumerate(data.labels) if y == label] for label in range(k)]
        rng = random.Random(data.seed)
        rows: List[int] = []
        for label, candidates in enumerate(by_label):
            share = wanted // k + (label < wanted % k)
            if share > len(candidates):
                raise TextvaeError(f"model.labelled asks for {share} labelled sentences of label {label} but the "
                                   f"training split has {len(candidates)}; keep fewer labels")
            rows += candidates if share == len(candidates) else rng.sample(candidates, share)
        self.labelled_rows = sorted(rows)
        self.labels_seen.fill_(len(rows))
        mask = torch.zeros(n, dtype=torch.bool)
        mask[self.labelled_rows] = True
        self._labelled_mask = mask
        self._pool = ([data.ids[i] for i in self.labelled_rows], [data.labels[i] for i in self.labelled_rows],
                      self.labelled_rows)

    def save_parts(self, directory: Path) -> None:
        """``labelled.json``: how many training labels the model saw, per label, and which."""
        if self.labelled_rows is None:
            return
        n = len(self._labelled_mask)
        per_label = [0] * self.num_labels
        for y in self._pool[1]:
            per_label[y] += 1
        record = {"labelled": len(self.labelled_rows), "train_sentences": n, "per_label": per_label,
                  "rows": "all" if len(self.labelled_rows) == n else self.labelled_rows}
        atomic_write_text(Path(directory) / LABELLED_FILE, json.dumps(record) + "\n")

    def training_labels(self) -> int:
        return int(self.labels_seen)

    def _labelled_draw(self, device) -> Optional[Batch]:
        """``labelled_batch`` kept labelled sentences, drawn with the global RNG (None: none kept)."""
        if not self._pool or not self._pool[0] or self.config.labelled_batch == 0:
            return None
        ids, labels, rows = self._pool
        pick = torch.randint(len(ids), (self.config.labelled_batch,)).tolist()
        return collate([ids[i] for i in pick], [labels[i] for i in pick], [rows[i] for i in pick]).to(device)

    # ------------------------------------------------------------ networks

    def sentence(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))[1]

    def onehot(self, labels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels, self.num_labels).to(like.dtype)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``mean``: ``[onehot(y); mean of q(z|x,y)]`` with y the classifier's choice; ``z`` the same
        with a sample of z; ``y_logits``: q(y|x)."""
        h = self.sentence(src, lengths)
        logits = self.classifier(h)
        y = self.onehot(logits.argmax(-1), h)
        posterior = self.latent(torch.cat([h, y], -1))
        return {"z": torch.cat([y, posterior["z"]], -1), "mean": torch.cat([y, posterior["mean"]], -1),
                "y_logits": logits}

    def label_logits(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """q(y|x) as logits ``(B, K)``: the model's own classifier (few-label evaluation reports it)."""
        return self.classifier(self.sentence(src, lengths))

    # ------------------------------------------------------------ objective

    def loss_terms(self) -> List[LossTerm]:
        config = self.config
        terms = [LossTerm("bound", self._bound)]
        keeps_labels = config.labelled_count != 0 if config.labelled_count is not None else config.labelled > 0
        if keeps_labels and config.alpha > 0:
            terms.append(LossTerm("classify", self._classify, weight=config.alpha))
        return terms

    def context(self, batch: Batch) -> Context:
        """Per part (the batch, and in training the extra labelled draw): its sentence vectors,
        q(y|x) and which rows count as labelled (in evaluation none do: the dev bound is the
        unlabelled one, the honest bound on log p(x))."""
        parts = []
        src, lengths = batch.src, batch.lengths
        if self.training:
            src, lengths = corrupt(src, lengths, self.config.noise)
        h = self.sentence(src, lengths)
        if self.training and self._labelled_mask is not None:
            labelled = self._labelled_mask[batch.index.cpu()].to(batch.src.device) & (batch.labels >= 0)
        else:
            labelled = torch.zeros(len(batch), dtype=torch.bool, device=batch.src.device)
        parts.append((batch, h, self.classifier(h), labelled))
        extra = self._labelled_draw(batch.src.device) if self.training else None
        if extra is not None:
            h_extra = self.sentence(extra.src, extra.lengths)
            parts.append((extra, h_extra, self.classifier(h_extra), torch.ones(len(extra), dtype=torch.bool,
                                                                              device=extra.src.device)))
        return {"batch": batch, "parts": parts}

    def _part_bound(self, batch: Batch, h: torch.Tensor, logits: torch.Tensor, labelled: torch.Tensor,
                    kl_weight: float):
        """Per sentence: the bound to minimise (KL weighted by the schedule) and the plain bound
        ``L`` or ``U`` (+ log K), with the expected reconstruction and KL for the metrics."""
        k = self.num_labels
        rows_l = labelled.nonzero().squeeze(1)
        rows_u = (~labelled).nonzero().squeeze(1)
        index = torch.cat([rows_l, rows_u.repeat_interleave(k)])
        ys = torch.cat([batch.labels[rows_l], torch.arange(k, device=h.device).repeat(len(rows_u))])
        y = self.onehot(ys, h)
        posterior = self.latent(torch.cat([h[index], y], -1))
        kl = gaussian_kl(posterior["mean"].float(), posterior["logvar"].float()).sum(1)
        rec = self.decoder.nll(self.decoder_inputs(batch)[index], torch.cat([y, posterior["z"]], -1),
                               batch.tgt_out[index]).float()
        n_l = len(rows_l)
        q = logits.float().softmax(-1)[rows_u]
        entropy = -(q * q.clamp(min=1e-12).log()).sum(-1)

        def per_sentence(values: torch.Tensor, minus_entropy: bool) -> torch.Tensor:
            out = values.new_zeros(len(batch))
            out[rows_l] = values[:n_l]
            expected = (q * values[n_l:].view(-1, k)).sum(-1)
            out[rows_u] = expected - entropy if minus_entropy else expected
            return out

        objective = per_sentence(rec + kl_weight * kl, True)
        plain = per_sentence(rec + kl, True) + math.log(k)
        return objective, plain, per_sentence(rec, False), per_sentence(kl, False), entropy

    def _bound(self, context: Context):
        weight = self.config.loss.beta * schedule_value(self.config.loss.kl_weight, self.step_count)
        pieces = [self._part_bound(*part, weight) for part in context["parts"]]
        objective, plain, rec, kl = (torch.cat([p[i] for p in pieces]) for i in range(4))
        entropy = torch.cat([p[4] for p in pieces])
        batch = context["batch"]
        ntokens = (batch.tgt_out != PAD_ID).sum()
        main = len(batch)  # the metrics of the batch itself (not the extra labelled draw)
        metrics = {"rec": rec[:main].mean().detach(), "kl": kl[:main].mean().detach(),
                   "elbo": plain[:main].mean().detach(), "nll_token": (plain[:main].sum() / ntokens).detach(),
                   "kl_weight": torch.tensor(weight)}
        if len(entropy):
            metrics["y_entropy"] = entropy.mean().detach()
        return objective.mean(), metrics

    def _classify(self, context: Context):
        """-log q(y|x) on the labelled rows (in evaluation: on every row with a label, the dev accuracy)."""
        logits, labels = [], []
        for batch, _, part_logits, labelled in context["parts"]:
            rows = labelled if self.training else batch.labels >= 0
            logits.append(part_logits[rows])
            labels.append(batch.labels[rows])
        logits, labels = torch.cat(logits).float(), torch.cat(labels)
        if not len(labels):
            return None
        loss = F.cross_entropy(logits, labels)
        return loss, {"y_loss": loss.detach(), "y_acc": (logits.argmax(-1) == labels).float().mean().detach()}

    def finish_metrics(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return out

    # ------------------------------------------------------------ prior, transfer

    def codes_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """N(0, I) noise of the code's size to codes: the label is the argmax of the first K
        coordinates (a uniform draw of p(y)), z the rest."""
        k = self.num_labels
        return torch.cat([self.onehot(noise[:, :k].argmax(-1), noise), noise[:, k:]], -1)

    def with_style(self, codes: torch.Tensor, target: int) -> torch.Tensor:
        """``codes`` with their label part set to ``target`` (label-conditioned generation)."""
        labels = torch.full((codes.size(0),), target, dtype=torch.long, device=codes.device)
        return torch.cat([self.onehot(labels, codes), codes[:, self.num_labels:]], -1)

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """Decode each sentence's z (inferred with the label the classifier gives it) with ``target``;
        a ``strength`` other than 1 guides the decoder away from the other labels
        (:mod:`textvae.decoding.guidance`)."""
        code = self.encode(batch.src, batch.lengths)["mean"]
        decoder, codes = guided(self.decoder, lambda style: self.with_style(code, style), target, self.num_labels,
                                strength)
        return [(torch.arange(len(batch)), decoder, codes)]

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """Style: log q(target | candidate); cycle: the NLL of decoding the source from the
        candidate's z (inferred with the target label) and the source's own label."""

        def style_log_prob(candidates: Batch) -> torch.Tensor:
            return self.label_logits(candidates.src, candidates.lengths).float().log_softmax(-1)[:, target]

        def rebuild_nll(candidates: Batch, sources: Batch, k: int) -> torch.Tensor:
            h = self.sentence(candidates.src, candidates.lengths)
            targets = torch.full((len(candidates),), target, dtype=torch.long, device=h.device)
            z = self.latent(torch.cat([h, self.onehot(targets, h)], -1))["mean"]
            own = self.label_logits(sources.src, sources.lengths).argmax(-1).repeat_interleave(k)
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            return sentence_nll(self.decoder(tgt_in, torch.cat([self.onehot(own, z), z], -1)), tgt_out)

        return style_log_prob, rebuild_nll
