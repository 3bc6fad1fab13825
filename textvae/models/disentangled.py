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

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from textvae.config import LatentConfig, ModelConfig
from textvae.data.batching import Batch
from textvae.errors import TextvaeError
from textvae.models.latent import build_latent
from textvae.models.seq2seq import Seq2SeqAutoencoder
from textvae.objectives.kl import gaussian_kl
from textvae.objectives.mmd import batch_standardise, label_mmd
from textvae.objectives.schedules import schedule_value


def _mlp(inputs: int, outputs: int, hidden: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(), nn.Linear(hidden, outputs))


class Standardise(nn.Module):
    """Scale every feature to zero mean and unit variance over the batch: an adversary reading
    standardised codes cannot be fooled by shrinking the direction that carries the label (a
    probe standardises its inputs too)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return batch_standardise(x)


def _adversary(inputs: int, outputs: int, standardise: bool) -> nn.Module:
    return nn.Sequential(Standardise(), _mlp(inputs, outputs)) if standardise else _mlp(inputs, outputs)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the categorical distributions given by ``logits`` ``(B, K)``."""
    log_p = logits.float().log_softmax(-1)
    return -(log_p.exp() * log_p).sum(-1).mean()


class DisentangledVAE(Seq2SeqAutoencoder):
    """A sentence VAE (or DAE) whose code is ``[s; c]``; see the module docstring."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_labels: int):
        self.style_dim = config.style.dim
        super().__init__(config, vocab_size)
        style = config.style
        self.num_labels = num_labels
        self.style_latent = build_latent(self.encoder.output_size, LatentConfig(type=style.type, dim=style.dim))
        k = style.content_vocab
        self.style_classifier = nn.Linear(style.dim, num_labels) if style.multitask > 0 else None
        self.content_predictor = nn.Linear(config.latent.dim, k) if style.content_multitask > 0 else None
        # adversaries: trained by their own optimizer on detached codes
        standardise = style.discriminator_standardise
        self.style_adversary = _adversary(config.latent.dim, num_labels, standardise) if style.adversarial > 0 else None
        self.content_adversary = _adversary(style.dim, k, standardise) if style.content_adversarial > 0 else None
        self._adversary_memory: Dict = {}  # recent adversary inputs, a ring of rows (see StyleConfig)
        # token id -> content class (-1: not a content word); set by prepare() before training
        self.register_buffer("content_index", torch.full((vocab_size,), -1, dtype=torch.long))
        self.register_buffer("style_means", torch.zeros(num_labels, style.dim))

    @property
    def latent_dim(self) -> int:
        return self.config.latent.dim + self.style_dim

    def adversaries(self) -> List[nn.Module]:
        return [m for m in (self.style_adversary, self.content_adversary) if m is not None]

    # ------------------------------------------------------------ set-up from the corpus

    def prepare(self, train_ids: Sequence[Sequence[int]], texts: Sequence[str], labels: Sequence[int],
                tokenizer) -> None:
        """Choose the content vocabulary: the most frequent tokens that are neither stopwords
        nor style words mined from the training split."""
        from collections import Counter

        from textvae.evaluation.lexicon import STOPWORDS, style_lexicon, style_words

        excluded = STOPWORDS | style_words(style_lexicon(texts, labels))
        counts = Counter(t for ids in train_ids for t in ids)
        chosen = [t for t, _ in counts.most_common()
                  if t >= 4 and tokenizer.decode([t]).strip() not in excluded][:self.config.style.content_vocab]
        index = torch.full_like(self.content_index, -1)
        index[torch.tensor(chosen, dtype=torch.long, device=index.device)] = torch.arange(len(chosen), device=index.device)
        self.content_index.copy_(index)

    @torch.no_grad()
    def refresh_style_means(self, batches: Sequence[Batch], device) -> None:
        """Mean posterior style vector of every label over ``batches`` (training sentences)."""
        was_training = self.training
        self.eval()
        sums = torch.zeros_like(self.style_means)
        counts = torch.zeros(self.num_labels, device=sums.device)
        for batch in batches:
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

    @torch.inference_mode()
    def transfer(self, text_model, sentences: Sequence[str], to: str, strength: float = 1.0, rerank: float = 0.0,
                 rerank_cycle: float = 0.0, rerank_lm: float = 0.0, lm=None, **options) -> List:
        """``sentences`` rewritten in style ``to`` (see :meth:`textvae.api.TextModel.transfer`);
        ``rerank`` / ``rerank_cycle`` / ``rerank_lm`` > 0 choose among beam candidates, see
        :meth:`reranker`."""
        from textvae.models.style_seq2seq import lm_scorer, transfer_in_batches

        target = text_model.label_names.index(to)

        def prepare(batch):
            targets = torch.full((len(batch),), target, dtype=torch.long, device=batch.src.device)
            mean = self.encode(batch.src, batch.lengths)["mean"]
            return [(torch.arange(len(batch)), self.decoder, self.transfer_codes(mean, targets, strength))]

        return transfer_in_batches(text_model, sentences, options, prepare,
                                   self.reranker(target, rerank, rerank_cycle, rerank_lm,
                                                 lm_scorer(text_model, lm) if rerank_lm else None))

    def reranker(self, target: int, weight: float, cycle_weight: float = 0.0, lm_weight: float = 0.0,
                 lm_score=None):
        """With a weight > 0: ``rerank(ids, scores, sources)`` reordering beam candidates by beam
        score + ``weight`` x the log-probability of the ``target`` style that the multitask style
        classifier gives the candidate's own style code (the candidate is encoded again) -
        ``cycle_weight`` x the per-token NLL of decoding the source from the source's style code
        and the *candidate's* content code (did the content survive?) - ``lm_weight`` x the
        candidate's per-token NLL under a language model. The model's own heads play the style
        and content models of noisy-channel reranking (Yee et al. 2019); see
        :func:`textvae.models.style_seq2seq.candidate_reranker`."""
        from textvae.models.style_seq2seq import candidate_reranker, check_rerank_weights

        if not check_rerank_weights(weight, cycle_weight, lm_weight, lm_score):
            return None
        if weight > 0 and self.style_classifier is None:
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
            from textvae.objectives.reconstruction import sentence_nll

            s = self.encode(sources.src, sources.lengths)["style_mean"].repeat_interleave(k, 0)
            c = encode_candidates(candidates)["content_mean"]
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            return sentence_nll(self.decoder(tgt_in, torch.cat([s, c.to(s.dtype)], -1)), tgt_out)

        return candidate_reranker(weight, cycle_weight, lm_weight, style_log_prob, rebuild_nll, lm_score)

    def _bag_of_words(self, tokens: torch.Tensor) -> Optional[torch.Tensor]:
        """Normalised counts of content words per sentence ``(B, K)``; rows without any are zero."""
        index = self.content_index[tokens]
        keep = index >= 0
        bag = torch.zeros(tokens.size(0), self.config.style.content_vocab, device=tokens.device)
        rows = torch.arange(tokens.size(0), device=tokens.device)[:, None].expand_as(tokens)
        bag.index_put_((rows[keep], index[keep]), torch.ones_like(index[keep], dtype=bag.dtype), accumulate=True)
        return bag / bag.sum(1, keepdim=True).clamp(min=1)

    def forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        out = self._reconstruction_terms(batch)  # rec, content KL / MMD, loss
        posterior = out.pop("posterior")
        style_cfg = self.config.style
        s_post, c_post = posterior["style"], posterior["content"]
        s, c = s_post["z"], c_post["z"]
        # The adversaries read the posterior means, the codes transfer and probes use: on samples
        # the encoder can hide style from them under the posterior noise while the means keep it.
        s_mean, c_mean = s_post["mean"], c_post["mean"]
        loss = out["loss"]
        if style_cfg.type == "gaussian":
            kl_s = gaussian_kl(s_post["mean"].float(), s_post["logvar"].float()).sum(1).mean()
            weight = schedule_value(style_cfg.kl_weight, self.step_count)
            loss = loss + weight * kl_s
            out["kl_style"] = kl_s.detach()
            out["elbo"] = out["elbo"] + out["kl_style"] if "elbo" in out else out["rec"] + out["kl_style"]
        labels = batch.labels
        bag = self._bag_of_words(batch.tgt_out) if (self.content_predictor or self.content_adversary) else None
        if self.style_classifier is not None:
            logits = self.style_classifier(s)
            style_loss = F.cross_entropy(logits.float(), labels)
            loss = loss + style_cfg.multitask * style_loss
            out["style_loss"] = style_loss.detach()
            out["style_acc"] = (logits.argmax(-1) == labels).float().mean().detach()
        if self.content_predictor is not None:
            content_loss = -(bag * self.content_predictor(c).float().log_softmax(-1)).sum(1).mean()
            loss = loss + style_cfg.content_multitask * content_loss
            out["content_loss"] = content_loss.detach()
        inputs = {"c": c_mean.detach(), "s": s_mean.detach(), "labels": labels}
        if bag is not None and self.content_adversary is not None:
            inputs["bag"] = bag
        disc_loss, disc_metrics = self.adversary_loss(inputs)
        out.update(disc_metrics)
        if self.style_adversary is not None:
            h = entropy(_frozen(self.style_adversary, c_mean))
            loss = loss - style_cfg.adversarial * h
            out["adv_style_entropy"] = h.detach()
        if style_cfg.content_mmd > 0:
            divergence = label_mmd(c_mean, labels)
            loss = loss + style_cfg.content_mmd * divergence
            out["content_mmd"] = divergence.detach()
        if self.content_adversary is not None:
            h = entropy(_frozen(self.content_adversary, s_mean))
            loss = loss - style_cfg.content_adversarial * h
            out["adv_content_entropy"] = h.detach()
        if self.training and self.adversaries() and style_cfg.discriminator_steps > 1:
            self._remember(inputs)
        out["loss"] = loss
        out["disc_loss"] = disc_loss
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

    def optimizer_groups(self) -> List[dict]:
        adversary_params = {id(p) for m in self.adversaries() for p in m.parameters()}
        main = [p for p in self.parameters() if id(p) not in adversary_params]
        groups = [{"name": "main", "params": main, "loss": "loss"}]
        if adversary_params:
            style = self.config.style
            groups.append({"name": "adversaries", "params": [p for m in self.adversaries() for p in m.parameters()],
                           "loss": "disc_loss", "lr": style.discriminator_lr,
                           "extra_steps": style.discriminator_steps - 1, "extra_loss": self._extra_adversary_loss})
        return groups


def _frozen(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with gradients to ``x`` only: the encoder fools the adversary, the adversary
    does not learn from the encoder's objective."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, params, (x,))
