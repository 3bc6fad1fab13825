"""Style/content split latents for non-parallel style transfer (John et al. 2019, "Disentangled
Representation Learning for Non-Parallel Text Style Transfer", ACL).

The encoder's sentence vector feeds two latent heads: style ``s`` (small) and content ``c``
(the ordinary ``latent``); the decoder reads ``[s; c]``. Auxiliary losses push style
information into ``s`` and out of ``c`` (and content the other way):

- multitask style: a classifier predicts the label from ``s``;
- adversarial style: a discriminator predicts the label from ``c`` (trained on its own
  optimizer, on detached codes); the encoder maximises the entropy of its prediction;
- multitask content: ``c`` predicts the sentence's bag of content words (no stopwords, no
  mined style words);
- adversarial content: a discriminator predicts that bag from ``s``; the encoder maximises
  its entropy;
- (not in the paper) a label-MMD penalty on ``c``: the maximum mean discrepancy between the
  content codes of different labels (Louizos et al. 2016), a pressure towards "no classifier
  can read the style from c" that does not depend on how well an adversary keeps up.

Both discriminators read the posterior means (the codes transfer uses); see ``forward``.
Transfer replaces ``s`` by the mean style vector of the target label, computed on training
sentences whenever the model is saved and stored with its weights.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from textvae.config import LatentConfig
from textvae.data.batching import Batch
from textvae.errors import TextvaeError
from textvae.models.base import DecodePlan, TrainingData
from textvae.models.components.classifiers import code_adversary
from textvae.models.components.content import content_token_ids
from textvae.models.components.latent import build_latent
from textvae.models.disentangled.config import DisentangledConfig
from textvae.models.registry import register_model
from textvae.models.seq2seq.model import Seq2SeqAutoencoder
from textvae.objectives.kl import gaussian_kl
from textvae.objectives.mmd import label_mmd
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.terms import Adversary, Context, LossTerm, frozen_call

STYLE_SENTENCES_PER_LABEL = 2000  # training sentences per style that the mean style vectors average


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the categorical distributions given by ``logits`` ``(B, K)``."""
    log_p = logits.float().log_softmax(-1)
    return -(log_p.exp() * log_p).sum(-1).mean()


@register_model("disentangled", config=DisentangledConfig)
class DisentangledVAE(Seq2SeqAutoencoder):
    """A sentence VAE (or DAE) whose code is ``[s; c]``; see the module docstring."""

    can_transfer = True
    uses_strength = True
    tune_strengths = (1.0, 1.3, 1.6, 2.0)
    min_styles = 2  # a style code needs styles to tell apart
    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16", "model.latent.dim=8",
                      "model.style.dim=4", "model.style.multitask=1", "model.style.adversarial=1",
                      "model.style.content_multitask=1", "model.style.content_adversarial=0.1",
                      "model.style.content_mmd=1", "model.style.content_vocab=50")

    def __init__(self, config: DisentangledConfig, vocab_size: int, label_names, tokenizer=None):
        self.style_dim = config.style.dim
        super().__init__(config, vocab_size, label_names, tokenizer)
        style = config.style
        num_labels = self.num_labels
        self.style_latent = build_latent(self.encoder.output_size, LatentConfig(type=style.type, dim=style.dim))
        k = style.content_vocab
        self.style_classifier = nn.Linear(style.dim, num_labels) if style.multitask > 0 else None
        self.content_predictor = nn.Linear(config.latent.dim, k) if style.content_multitask > 0 else None
        # adversaries: trained by their own optimizer on detached codes
        standardise = style.discriminator_standardise
        self.style_adversary = code_adversary(config.latent.dim, num_labels, standardise) if style.adversarial > 0 else None
        self.content_adversary = code_adversary(style.dim, k, standardise) if style.content_adversarial > 0 else None
        modules = [m for m in (self.style_adversary, self.content_adversary) if m is not None]
        self.adversary = Adversary("adversaries", modules, loss="disc_loss", lr=style.discriminator_lr,
                                   extra_steps=style.discriminator_steps - 1,
                                   extra_loss=self._extra_adversary_loss) if modules else None
        self._adversary_memory: Dict = {}  # recent adversary inputs, a ring of rows (see StyleConfig)
        self._style_rows: List[int] = []  # the training sentences the mean style vectors average
        # token id -> content class (-1: not a content word); set by prepare() before training
        self.register_buffer("content_index", torch.full((vocab_size,), -1, dtype=torch.long))
        self.register_buffer("style_means", torch.zeros(num_labels, style.dim))

    @property
    def latent_dim(self) -> int:
        return self.config.latent.dim + self.style_dim

    # ------------------------------------------------------------ set-up from the corpus

    def prepare(self, data: TrainingData) -> None:
        """Choose the content vocabulary: the most frequent tokens that are neither stopwords
        nor style words mined from the training split; and the sentences for the style means."""
        import random

        super().prepare(data)

        chosen = content_token_ids(data, self.config.style.content_vocab)
        index = torch.full_like(self.content_index, -1)
        index[torch.tensor(chosen, dtype=torch.long, device=index.device)] = torch.arange(len(chosen), device=index.device)
        self.content_index.copy_(index)
        rng = random.Random(data.seed)
        self._style_rows = []
        for label in sorted(set(data.labels)):
            rows = [i for i, y in enumerate(data.labels) if y == label]
            self._style_rows += sorted(rng.sample(rows, min(STYLE_SENTENCES_PER_LABEL, len(rows))))

    @torch.no_grad()
    def refresh_statistics(self, data: TrainingData) -> None:
        """Mean posterior style vector of every label over the chosen training sentences."""
        if not self._style_rows:
            return
        was_training = self.training
        self.eval()
        device = self.style_means.device
        sums = torch.zeros_like(self.style_means)
        counts = torch.zeros(self.num_labels, device=device)
        for batch in data.batches(self._style_rows):
            batch = batch.to(device)
            s = self.encode(batch.src, batch.lengths)["style_mean"].float()
            sums.index_add_(0, batch.labels, s)
            counts.index_add_(0, batch.labels, torch.ones_like(batch.labels, dtype=counts.dtype))
        self.style_means.copy_(sums / counts.clamp(min=1)[:, None])
        self.train(was_training)

    # ------------------------------------------------------------ model

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Content posterior as ``z``/``mean``/``logvar`` of ``[s; c]`` plus the parts."""
        _, sentence = self.encoder(src, lengths, embedded=self.dropout(self.embedding(src)))
        content, style = self.latent(sentence), self.style_latent(sentence)
        out = {"z": torch.cat([style["z"], content["z"]], -1),
               "mean": torch.cat([style["mean"], content["mean"]], -1),
               "style_mean": style["mean"], "content_mean": content["mean"],
               "style": style, "content": content}
        if "logvar" in style and "logvar" in content:
            out["logvar"] = torch.cat([style["logvar"], content["logvar"]], -1)
        return out

    def split(self, code: torch.Tensor):
        """``[s; c]`` -> ``(s, c)``."""
        return code[:, :self.style_dim], code[:, self.style_dim:]

    def transfer_codes(self, mean: torch.Tensor, target: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """Codes with ``s`` moved ``strength`` of the way to the target labels' mean style."""
        s, c = self.split(mean)
        s = s + strength * (self.style_means[target].to(s.dtype) - s)
        return torch.cat([s, c], -1)

    def with_style(self, codes: torch.Tensor, target: int) -> torch.Tensor:
        """``codes`` with ``s`` set to the target style's mean style vector."""
        targets = torch.full((codes.size(0),), target, dtype=torch.long, device=codes.device)
        return self.transfer_codes(codes, targets, 1.0)

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """Decode the sentences' codes with ``s`` moved to the target style's mean."""
        targets = torch.full((len(batch),), target, dtype=torch.long, device=batch.src.device)
        mean = self.encode(batch.src, batch.lengths)["mean"]
        return [(torch.arange(len(batch)), self.decoder, self.transfer_codes(mean, targets, strength))]

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """The style term is the log-probability of the ``target`` style that the multitask style
        classifier gives the candidate's own style code (the candidate is encoded again); the cycle
        term is the NLL of decoding the source from the source's style code and the *candidate's*
        content code (did the content survive?). The model's own heads play the style and content
        models of noisy-channel reranking (Yee et al. 2019)."""
        if style and self.style_classifier is None:
            raise TextvaeError("this model was trained without the multitask style classifier "
                               "(model.style.multitask 0), so it cannot rerank by style; leave rerank at 0")
        encoded: Dict = {}  # the candidates are encoded once for both terms

        def encode_candidates(candidates: Batch) -> Dict[str, torch.Tensor]:
            if encoded.get("batch") is not candidates:
                encoded.update(batch=candidates, codes=self.encode(candidates.src, candidates.lengths))
            return encoded["codes"]

        def style_log_prob(candidates: Batch) -> torch.Tensor:
            s = encode_candidates(candidates)["style_mean"]
            return self.style_classifier(s).float().log_softmax(-1)[:, target]

        def rebuild_nll(candidates: Batch, sources: Batch, k: int) -> torch.Tensor:
            s = self.encode(sources.src, sources.lengths)["style_mean"].repeat_interleave(k, 0)
            c = encode_candidates(candidates)["content_mean"]
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            return sentence_nll(self.decoder(tgt_in, torch.cat([s, c.to(s.dtype)], -1)), tgt_out)

        return style_log_prob, rebuild_nll

    # ------------------------------------------------------------ objective

    def _bag_of_words(self, tokens: torch.Tensor) -> Optional[torch.Tensor]:
        """Normalised counts of content words per sentence ``(B, K)``; rows without any are zero."""
        index = self.content_index[tokens]
        keep = index >= 0
        bag = torch.zeros(tokens.size(0), self.config.style.content_vocab, device=tokens.device)
        rows = torch.arange(tokens.size(0), device=tokens.device)[:, None].expand_as(tokens)
        bag.index_put_((rows[keep], index[keep]), torch.ones_like(index[keep], dtype=bag.dtype), accumulate=True)
        return bag / bag.sum(1, keepdim=True).clamp(min=1)

    def loss_terms(self) -> List[LossTerm]:
        """The sentence VAE's terms on ``c``, the style code's KL, and the paper's four losses
        (each present when its weight is on), with the label MMD between the last two."""
        style = self.config.style
        terms = super().loss_terms()
        if style.type == "gaussian":
            terms.append(LossTerm("kl_style", self._kl_style, weight=style.kl_weight))
        if self.style_classifier is not None:
            terms.append(LossTerm("style_multitask", self._style_multitask, weight=style.multitask))
        if self.content_predictor is not None:
            terms.append(LossTerm("content_multitask", self._content_multitask, weight=style.content_multitask))
        if self.style_adversary is not None:
            terms.append(LossTerm("style_adversarial", self._style_adversarial, weight=style.adversarial, sign=-1.0,
                                  adversary=self.adversary))
        if style.content_mmd > 0:
            terms.append(LossTerm("content_mmd", self._content_mmd, weight=style.content_mmd))
        if self.content_adversary is not None:
            terms.append(LossTerm("content_adversarial", self._content_adversarial, weight=style.content_adversarial,
                                  sign=-1.0, adversary=self.adversary))
        return terms

    def context(self, batch: Batch) -> Context:
        """The sentence VAE's context plus the content-word bags and the adversaries' own loss on
        detached codes. The adversaries read the posterior means, the codes transfer and probes
        use: on samples the encoder can hide style from them under the posterior noise while the
        means keep it."""
        context = super().context(batch)
        posterior = context["posterior"]
        needs_bag = self.content_predictor is not None or self.content_adversary is not None
        context["bag"] = self._bag_of_words(batch.tgt_out) if needs_bag else None
        if self.adversary is not None:
            inputs = {"c": posterior["content"]["mean"].detach(), "s": posterior["style"]["mean"].detach(),
                      "labels": batch.labels}
            if context["bag"] is not None and self.content_adversary is not None:
                inputs["bag"] = context["bag"]
            context["disc_loss"], context["metrics"] = self.adversary_loss(inputs)
            if self.training and self.config.style.discriminator_steps > 1:
                self._remember(inputs)
        return context

    def _kl_style(self, context: Context):
        s = context["posterior"]["style"]
        kl_s = gaussian_kl(s["mean"].float(), s["logvar"].float()).sum(1).mean()
        return kl_s, {"kl_style": kl_s.detach()}

    def _style_multitask(self, context: Context):
        labels = context["batch"].labels
        logits = self.style_classifier(context["posterior"]["style"]["z"])
        loss = F.cross_entropy(logits.float(), labels)
        return loss, {"style_loss": loss.detach(), "style_acc": (logits.argmax(-1) == labels).float().mean().detach()}

    def _content_multitask(self, context: Context):
        logits = self.content_predictor(context["posterior"]["content"]["z"]).float()
        loss = -(context["bag"] * logits.log_softmax(-1)).sum(1).mean()
        return loss, {"content_loss": loss.detach()}

    def _style_adversarial(self, context: Context):
        h = entropy(frozen_call(self.style_adversary, context["posterior"]["content"]["mean"]))
        return h, {"adv_style_entropy": h.detach()}

    def _content_mmd(self, context: Context):
        divergence = label_mmd(context["posterior"]["content"]["mean"], context["batch"].labels)
        return divergence, {"content_mmd": divergence.detach()}

    def _content_adversarial(self, context: Context):
        h = entropy(frozen_call(self.content_adversary, context["posterior"]["style"]["mean"]))
        return h, {"adv_content_entropy": h.detach()}

    def finish_metrics(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        out = super().finish_metrics(out)
        if "kl_style" in out:
            out["elbo"] = out["elbo"] + out["kl_style"] if "elbo" in out else out["rec"] + out["kl_style"]
        return out

    def adversary_loss(self, inputs: Dict[str, torch.Tensor]):
        """The discriminators' own loss on detached codes ``inputs`` (``c``, ``s``, ``labels``, ``bag``)
        and their metrics."""
        loss = torch.zeros((), device=inputs["c"].device)
        metrics = {}
        if self.style_adversary is not None:
            logits = self.style_adversary(inputs["c"])
            loss = loss + F.cross_entropy(logits.float(), inputs["labels"])
            metrics["adv_style_acc"] = (logits.argmax(-1) == inputs["labels"]).float().mean().detach()
        if self.content_adversary is not None:
            d_loss = -(inputs["bag"] * self.content_adversary(inputs["s"]).float().log_softmax(-1)).sum(1).mean()
            loss = loss + d_loss
            metrics["adv_content_loss"] = d_loss.detach()
        return loss, metrics

    def _remember(self, inputs: Dict[str, torch.Tensor]) -> None:
        """Keep the adversary inputs of recent batches in a ring of ``discriminator_memory`` rows."""
        capacity = self.config.style.discriminator_memory
        memory = self._adversary_memory
        if not memory:
            memory.update({key: value.new_zeros((capacity,) + value.shape[1:]) for key, value in inputs.items()})
            memory["filled"], memory["next"], memory["last"] = 0, 0, 0
        memory["last"] = len(inputs["labels"])  # the size of the extra updates' draws
        inputs = {key: value[-capacity:] for key, value in inputs.items()}
        rows = len(inputs["labels"])
        where = (memory["next"] + torch.arange(rows)) % capacity
        for key, value in inputs.items():
            memory[key][where.to(value.device)] = value
        memory["next"] = (memory["next"] + rows) % capacity
        memory["filled"] = min(capacity, memory["filled"] + rows)

    def _extra_adversary_loss(self) -> Optional[torch.Tensor]:
        """One more adversary update's loss, on a batch-sized draw from the remembered codes (None
        before any are kept)."""
        memory = self._adversary_memory
        if not memory:
            return None
        pick = torch.randint(memory["filled"], (memory["last"],), device=memory["labels"].device)
        return self.adversary_loss({key: memory[key][pick] for key in ("c", "s", "labels", "bag") if key in memory})[0]
