"""Style-conditioned sequence-to-sequence model trained by iterative back-translation.

The encoder reads a sentence into per-token states; the decoder attends to them and is told
the style to write in by a style embedding added to every input. Training (see
:class:`textvae.models.style_seq2seq.config.CycleConfig`) mixes denoising self-reconstruction,
on-the-fly back-translation (Lample et al. 2019, "Multiple-Attribute Text Rewriting"; Dai et al.
2019, "Style Transformer") and a classifier loss on soft (Gumbel-softmax, Jang et al. 2017)
transfers. Transfer encodes a sentence and decodes it with the target style.

Backbones: a Transformer decoder with cross-attention, or a GRU decoder with Luong et al.
(2015) global attention.
"""

from __future__ import annotations

import logging
import math
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from textvae.data.batching import Batch, collate
from textvae.data.noise import corrupt
from textvae.data.tokenizer import EOS_ID, PAD_ID, UNK_ID
from textvae.decoding.guidance import guided
from textvae.decoding.search import greedy, sample
from textvae.errors import TextvaeError
from textvae.data.pairs import read_pairs
from textvae.models.base import DecodePlan, Model, TrainingData
from textvae.models.classifier import check_scorer
from textvae.models.components.attention import build_attention_decoder
from textvae.models.components.classifiers import StyleClassifier
from textvae.models.components.encoders import build_encoder, padding_mask
from textvae.models.registry import register_model
from textvae.models.style_seq2seq.config import StyleSeq2SeqConfig
from textvae.objectives.classifier_feedback import (classifier_terms, prefix_style_loss, soft_style_loss,
                                                    style_loss_rows)
from textvae.objectives.reconstruction import language_model_nll, sentence_nll, tokenwise_nll
from textvae.objectives.terms import Adversary, Context, LossTerm

State = Dict[str, torch.Tensor]
log = logging.getLogger("textvae")


class ClassifierFeedbackModel(Model):
    """What the style-transfer models without a latent code share: the CNN style classifier
    trained alongside on real sentences (when ``cycle.style_weight`` is on; its own optimizer)
    and reranking by it. Subclasses call :meth:`add_classifier` last in ``__init__`` (parameter
    order = initialisation order and optimizer order)."""

    can_transfer = True
    rebuilds_sources = False  # implements rebuild_nll (the cycle reranker)

    def __init__(self, config, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.classifier: Optional[StyleClassifier] = None

    def add_classifier(self, vocab_size: int) -> None:
        cycle = self.config.cycle
        if cycle.style_weight.value > 0 or cycle.style_weight.start > 0:
            self.classifier = StyleClassifier(vocab_size, self.config.embedding_dim, self.num_labels,
                                              cycle.classifier_filters)
            self.classifier_adversary = Adversary("classifier", [self.classifier], loss="clf_loss",
                                                  lr=cycle.classifier_lr)

    def classifier_context(self, batch: Batch) -> Context:
        """The classifier's own loss and accuracy on the batch's real sentences."""
        if self.classifier is None:
            return {}
        terms = classifier_terms(self.classifier, batch.src, batch.labels)
        return {"clf_loss": terms["clf_loss"], "metrics": dict(terms)}

    def style_term(self, compute) -> List[LossTerm]:
        """The classifier-feedback term (none without a classifier), after the warm-up."""
        if self.classifier is None:
            return []
        cycle = self.config.cycle
        return [LossTerm("style", compute, weight=cycle.style_weight, warmup=cycle.warmup_steps,
                         when="weighted_or_eval", adversary=self.classifier_adversary)]

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """The style classifier trained alongside scores the target style; the cycle term is the NLL
        of rebuilding the source from the candidate in the source's style (the back-translation
        direction; the style is the classifier's best guess among the styles other than ``target``)."""
        if (style or cycle) and self.classifier is None:
            raise TextvaeError("this model was trained without a style classifier (model.cycle.style_weight 0), "
                               "so it cannot rerank; leave the rerank weights at 0")
        if cycle and not self.rebuilds_sources:
            raise TextvaeError(f"{type(self).__name__} cannot rebuild sources from transfers; leave rerank_cycle at 0")
        classifier = self.classifier

        def style_log_prob(candidates: Batch) -> torch.Tensor:
            return classifier(tokens=candidates.src).float().log_softmax(-1)[:, target]

        def rebuild_nll(candidates: Batch, sources: Batch, k: int) -> torch.Tensor:
            source_logits = classifier(tokens=sources.src).float()
            source_logits[:, target] = float("-inf")  # the source is in some other style
            source_styles = source_logits.argmax(-1).repeat_interleave(k)
            tgt_in, tgt_out = sources.tgt_in.repeat_interleave(k, 0), sources.tgt_out.repeat_interleave(k, 0)
            return self.rebuild_nll(candidates.src, candidates.lengths, tgt_in, tgt_out, source_styles)

        return style_log_prob, rebuild_nll


def edited_tokens(targets: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """``(B, T)``: True where a token of ``targets`` (padded, end token included) is nowhere in its
    row of ``sources`` (padded token ids); padding and the end token are never edits."""
    present = (targets.unsqueeze(2) == sources.unsqueeze(1)).any(2)
    return ~present & (targets != PAD_ID) & (targets != EOS_ID)


def token_nll(lm, texts: List[str], device) -> torch.Tensor:
    """Per-token NLL (the end token counted) of each of ``texts`` under the loaded language model
    ``lm`` (a model directory's bundle, with its own tokenizer)."""
    encoded = collate([x or [UNK_ID] for x in lm.tokenizer.encode(texts)]).to(device)
    return language_model_nll(lm.model, encoded).float() / (encoded.lengths + 1)


@register_model("style_seq2seq", config=StyleSeq2SeqConfig)
class StyleSeq2Seq(ClassifierFeedbackModel):
    """Encoder -> (attention) decoder told the target style; see the module docstring."""

    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16", "model.cycle.warmup_steps=1",
                      "model.cycle.style_weight.value=1")
    rebuilds_sources = True
    min_styles = 2
    uses_strength = True  # style guidance (textvae.decoding.guidance): strength 1 is plain decoding

    def __init__(self, config, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.encoder = build_encoder(self.embedding, config.encoder)
        self.input_dropout = nn.Dropout(config.dropout)
        self.decoder = build_attention_decoder(self.embedding, self.encoder.output_size, config.decoder,
                                               config.dropout)
        self.styles = nn.Embedding(self.num_labels, self.decoder.style_size)
        self.add_classifier(vocab_size)
        self._tokenizer = tokenizer  # the fluency and scorer rewards read transfers as text
        self._label_names = list(label_names)
        self._pairs: List[Tuple[List[int], int, List[int]]] = []  # (source ids, target style, transfer ids)

    def prepare(self, data: TrainingData) -> None:
        """Read the distillation pairs (``model.distill.pairs``), checked against the training split."""
        if not self.config.distill.pairs:
            return
        pairs = read_pairs(self.config.distill.pairs)
        for pair in pairs:
            i = pair["index"]
            if not (0 <= i < len(data.texts)) or data.texts[i] != pair["source"]:
                raise TextvaeError(f"model.distill.pairs: pair {i} of {self.config.distill.pairs} is not this training "
                                   "split's sentence; make the pairs from the corpus the model trains on")
        limit = self.input_limit()
        outputs = [ids[:limit] if limit else ids for ids in data.tokenizer.encode([pair["output"] for pair in pairs])]
        self._pairs = [(list(data.ids[pair["index"]]), int(pair["target"]), ids or [UNK_ID])
                       for pair, ids in zip(pairs, outputs)]
        if self.config.distill.max_ppl_ratio is not None:
            self._pairs = self._fluent_pairs(pairs)

    def _fluent_pairs(self, pairs) -> List[Tuple[List[int], int, List[int]]]:
        """The pairs whose transfer's per-token perplexity under ``model.distill.lm`` is at most
        ``max_ppl_ratio`` times its source's."""
        bundle, ratio = self.external["model.distill.lm"], self.config.distill.max_ppl_ratio
        device = next(bundle.model.parameters()).device

        def nll(texts):
            with torch.no_grad():
                return [v for start in range(0, len(texts), 256)
                        for v in token_nll(bundle, texts[start:start + 256], device).tolist()]

        rise = [o - s for s, o in zip(nll([p["source"] for p in pairs]), nll([p["output"] for p in pairs]))]
        kept = [pair for pair, r in zip(self._pairs, rise) if r <= math.log(ratio)]
        if not kept:
            raise TextvaeError(f"model.distill.max_ppl_ratio: no pair of {self.config.distill.pairs} is within "
                               f"{ratio:g} x its source's perplexity; raise the ratio")
        log.info("model.distill.max_ppl_ratio %g: %d of %d pairs kept", ratio, len(kept), len(pairs))
        return kept

    @classmethod
    def external_models(cls, config) -> Dict[str, str]:
        reward, out = config.reward, {}
        if reward.on and reward.fluency > 0:
            out["model.reward.lm"] = reward.lm
        if reward.on and reward.style > 0 and reward.scorer:
            out["model.reward.scorer"] = reward.scorer
        if config.distill.pairs and config.distill.max_ppl_ratio is not None:
            out["model.distill.lm"] = config.distill.lm
        return out

    def attach_external(self, name: str, bundle) -> None:
        if name in ("model.reward.lm", "model.distill.lm") and not bundle.model.is_language_model:
            raise TextvaeError(f"{name}: {bundle.path} is not a language model; train one with latent type "
                               "none (e.g. recipes/yelp_lm.yaml)")
        if name == "model.reward.scorer":
            check_scorer(bundle, self._label_names, "model.reward.scorer:")
        bundle.model.eval().requires_grad_(False)
        super().attach_external(name, bundle)

    def input_limit(self) -> Optional[int]:
        return self.config.decoder.max_length - 1 if self.config.decoder.type == "transformer" else None

    def decoder_context(self, src: torch.Tensor, lengths: torch.Tensor, styles: torch.Tensor,
                        embedded: Optional[torch.Tensor] = None) -> State:
        """What the decoder reads: encoder states, their mask, sentence vector, style vector
        (``embedded``: input vectors in place of ``src``'s embeddings, e.g. a soft transfer's)."""
        embedded = self.embedding(src) if embedded is None else embedded
        states, sentence = self.encoder(src, lengths, embedded=self.input_dropout(embedded))
        return {"states": states, "mask": ~padding_mask(lengths, src.size(1)), "sentence": sentence,
                "style_vector": self.styles(styles)}

    # ---------------------------------------------------------------- objective

    def loss_terms(self) -> List[LossTerm]:
        cycle = self.config.cycle
        return [LossTerm("rec", lambda context: context["rec"], weight=cycle.ae_weight),
                LossTerm("back_translation", self._back_translation_term, weight=cycle.bt_weight,
                         warmup=cycle.warmup_steps, when="weighted_or_eval"),
                *self.style_term(self._style_term), *self.reward_terms(), *self.distill_terms()]

    def distill_terms(self) -> List[LossTerm]:
        """The distilled-reranking term (none without ``model.distill.pairs``)."""
        distill = self.config.distill
        return [LossTerm("distill", self._distill_term, weight=distill.weight)] if distill.pairs else []

    def _distill_term(self, context: Context):
        """NLL of ``distill.batch`` pairs' transfers given their sources and target styles, drawn from
        all the pairs with the global RNG at every training step (reproducible on resume, as the
        training batches are); absent in evaluation, where no dev sentence has a pair."""
        if not self.training or not self._pairs:
            return None
        device = context["batch"].src.device
        drawn = [self._pairs[i] for i in torch.randint(len(self._pairs), (self.config.distill.batch,)).tolist()]
        sources = collate([source for source, _, _ in drawn]).to(device)
        targets = torch.tensor([target for _, target, _ in drawn], device=device)
        wanted = collate([output for _, _, output in drawn]).to(device)
        tokens = tokenwise_nll(self.decoder(wanted.tgt_in, self.decoder_context(sources.src, sources.lengths, targets)),
                           wanted.tgt_out)
        nll = tokens.sum(1)
        edit_weight = self.config.distill.edit_weight
        if edit_weight == 1:
            return nll.mean(), {"distill_nll": nll.mean().detach()}
        edits = edited_tokens(wanted.tgt_out, sources.src)
        weighted = (tokens * (1 + (edit_weight - 1) * edits.float())).sum(1)
        return weighted.mean(), {"distill_nll": nll.mean().detach(),
                                 "distill_edit_share": edits.float().sum() / (wanted.tgt_out != PAD_ID).sum()}

    def reward_terms(self) -> List[LossTerm]:
        """The direct-reward term (none while ``model.reward.weight`` is 0)."""
        reward = self.config.reward
        return [LossTerm("reward", self._reward_term, weight=reward.weight, when="weighted")] if reward.on else []

    def context(self, batch: Batch) -> Context:
        """Self-reconstruction of the (noised) batch in its own style, the target styles of the
        other terms, and the classifier's loss on real sentences."""
        src, lengths = corrupt(batch.src, batch.lengths, self.config.noise) if self.training \
            else (batch.src, batch.lengths)
        rec = sentence_nll(self.decoder(batch.tgt_in, self.decoder_context(src, lengths, batch.labels)),
                           batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        context = {"batch": batch, "rec": (rec.mean(), {"rec": rec.mean().detach(),
                                                        "nll_token": (rec.sum() / ntokens).detach()}),
                   "targets": self.other_styles(batch.labels)}
        context.update(self.classifier_context(batch))
        return context

    def _back_translate(self, batch: Batch, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Transfers of the batch into ``targets`` by the current model (no gradient), as padded
        ``(tokens, lengths)`` inputs for the reverse direction."""
        return self._decoded(batch, targets, self.config.cycle.bt_strategy, self.config.cycle.bt_temperature)

    @torch.no_grad()
    def _decoded(self, batch: Batch, targets: torch.Tensor, strategy: str, temperature: float = 1.0
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Greedy or sampled transfers of the batch into ``targets`` (eval mode, no gradient), as
        padded ``(tokens, lengths)``; an empty transfer is one unknown word."""
        cfg = self.config.cycle
        was_training = self.training
        self.eval()
        state = self.decoder.initial_state(self.decoder_context(batch.src, batch.lengths, targets))
        max_len = int(batch.lengths.max()) + cfg.extra_length
        if strategy == "sample":
            ids = sample(self.decoder.step, self.decoder.select, state, len(batch), max_len,
                         device=batch.src.device, temperature=temperature)
        else:
            ids = greedy(self.decoder.step, self.decoder.select, state, len(batch), max_len, device=batch.src.device)
        self.train(was_training)
        ids = ids.clone()  # a normal tensor, usable as an input in autograd
        ended = (ids == EOS_ID).long().cumsum(1) > 0
        ids = ids.masked_fill(ended, PAD_ID)
        lengths = (ids != PAD_ID).sum(1).clamp(min=1)
        ids[ids[:, 0] == PAD_ID, 0] = UNK_ID  # an empty transfer: the encoder reads one unknown word
        width = int(lengths.max())
        return ids[:, :width], lengths

    def _transfers(self, context: Context) -> Tuple[torch.Tensor, torch.Tensor]:
        """The batch back-translated into the target styles, once per step for every term."""
        if "transfers" not in context:
            context["transfers"] = self._back_translate(context["batch"], context["targets"])
        return context["transfers"]

    def _back_translation_term(self, context: Context):
        batch = context["batch"]
        tilde, tilde_lengths = self._transfers(context)
        bt = sentence_nll(self.decoder(batch.tgt_in, self.decoder_context(tilde, tilde_lengths, batch.labels)),
                          batch.tgt_out)
        return bt.mean(), {"bt_rec": bt.mean().detach()}

    def _style_term(self, context: Context):
        cfg, batch, targets = self.config.cycle, context["batch"], context["targets"]
        rows = style_loss_rows(len(batch), cfg, self.training, batch.labels.device)
        lengths = batch.lengths[rows]
        decoder_context = self.decoder_context(batch.src[rows], lengths, targets[rows])
        if cfg.style_relaxation == "greedy_prefix":
            tilde, tilde_lengths = self._transfers(context)
            loss, accuracy = prefix_style_loss(self.decoder, self.classifier, decoder_context, tilde[rows],
                                               tilde_lengths[rows], targets[rows], cfg, self.training)
        else:
            loss, accuracy = soft_style_loss(self.decoder, self.embedding, self.classifier,
                                             self.decoder.initial_state(decoder_context), targets[rows],
                                             int(lengths.max()) + cfg.extra_length, cfg, self.training)
        return loss, {"transfer_acc": accuracy, "style_loss": loss.detach()}

    def _reward_term(self, context: Context):
        """Self-critical policy gradient (see ``RewardConfig``): -(R(sample) - R(greedy)) x log p(sample),
        the rewards without gradient, so that only the policy's log-probabilities are trained."""
        cfg, batch, targets = self.config.reward, context["batch"], context["targets"]
        ids, lengths = self._decoded(batch, targets, "sample", cfg.temperature)
        source_nll = self.source_nll(batch) if cfg.fluency > 0 and cfg.fluency_reference == "source" else None
        reward, parts = self.transfer_rewards(batch, targets, ids, lengths, source_nll)
        baseline, _ = self.transfer_rewards(batch, targets, *self._decoded(batch, targets, "greedy"), source_nll)
        advantage = reward - baseline
        sampled = collate([row[:n].tolist() for row, n in zip(ids, lengths.tolist())]).to(ids.device)
        log_p = -sentence_nll(self.decoder(sampled.tgt_in, self.decoder_context(batch.src, batch.lengths, targets)),
                              sampled.tgt_out)
        loss = -(advantage * log_p).mean()
        metrics = {"reward": reward.mean(), "reward_greedy": baseline.mean(), "advantage": advantage.abs().mean(),
                   **{f"reward_{name}": value.mean() for name, value in parts.items()},
                   **{f"reward_weight_{name}": torch.tensor(float(getattr(cfg, name))) for name in parts}}
        return loss, metrics

    @torch.no_grad()
    def source_nll(self, batch: Batch) -> torch.Tensor:
        """Per-token NLL of ``batch``'s sentences under the reward's LM (the source-relative fluency's reference)."""
        sources = self._tokenizer.decode([row[:n].tolist() for row, n in zip(batch.src, batch.lengths.tolist())])
        return token_nll(self.external["model.reward.lm"], sources, batch.src.device)

    @torch.no_grad()
    def transfer_rewards(self, batch: Batch, targets: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor,
                         source_nll: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """The reward of transfers ``ids`` of ``batch`` into ``targets``, per sentence, and its parts
        (style, content, fluency: each in [0, 1]; computed in eval mode). ``source_nll``:
        :meth:`source_nll` of ``batch`` when the caller scores several transfers of one batch."""
        cfg = self.config.reward
        was_training = self.training
        self.eval()
        parts: Dict[str, torch.Tensor] = {}
        texts = [self._tokenizer.decode(row[:n].tolist()) for row, n in zip(ids, lengths.tolist())] \
            if self.external else None
        if cfg.style > 0 and "model.reward.scorer" in self.external:
            scorer = self.external["model.reward.scorer"]
            encoded = collate([x or [UNK_ID] for x in scorer.tokenizer.encode(texts)]).to(ids.device)
            parts["style"] = scorer.model.label_logits(encoded.src, encoded.lengths).float().softmax(-1).gather(
                1, targets[:, None]).squeeze(1)
        elif cfg.style > 0:
            parts["style"] = self.classifier(tokens=ids).float().softmax(-1).gather(1, targets[:, None]).squeeze(1)
        if cfg.content > 0:
            nll = self.rebuild_nll(ids, lengths, batch.tgt_in, batch.tgt_out, batch.labels).float()
            parts["content"] = torch.exp(-nll / (batch.lengths + 1))
        if cfg.fluency > 0:
            nll = token_nll(self.external["model.reward.lm"], texts, ids.device)
            if cfg.fluency_reference == "source":
                nll = (nll - (self.source_nll(batch) if source_nll is None else source_nll)).clamp(min=0)
            parts["fluency"] = torch.exp(-nll)
        self.train(was_training)
        total = sum(getattr(cfg, name) * value for name, value in parts.items())
        return (total if parts else torch.zeros(len(ids), device=ids.device)), parts

    # ---------------------------------------------------------------- transfer

    def rebuild_nll(self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor,
                    styles: torch.Tensor) -> torch.Tensor:
        """Summed NLL per row of decoding ``tgt_out`` in ``styles`` from ``src`` (a transfer)."""
        return sentence_nll(self.decoder(tgt_in, self.decoder_context(src, lengths, styles)), tgt_out)

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """Decode in the target style; a ``strength`` other than 1 guides each step by the
        difference between the target style's and the other styles' next-token log-probabilities
        (weight ``strength - 1``; :mod:`textvae.decoding.guidance`), so 0 writes in the other style
        and 2 twice as far from it as plain decoding."""
        styles = torch.full((len(batch),), target, dtype=torch.long, device=batch.src.device)
        context = self.decoder_context(batch.src, batch.lengths, styles)  # the encoding is shared by every style
        decoder, codes = guided(self.decoder, lambda style: {**context, "style_vector": self.styles(
            torch.full_like(styles, style))}, target, self.num_labels, strength)
        return [(torch.arange(len(batch)), decoder, codes)]
