"""Style-conditioned sequence-to-sequence model trained by iterative back-translation.

The encoder reads a sentence into per-token states; the decoder attends to them and is told
the style to write in by a style embedding added to every input. Training (see
:class:`textvae.config.CycleConfig`) mixes denoising self-reconstruction, on-the-fly
back-translation (Lample et al. 2019, "Multiple-Attribute Text Rewriting"; Dai et al. 2019,
"Style Transformer") and a classifier loss on soft (Gumbel-softmax, Jang et al. 2017)
transfers. Transfer encodes a sentence and decodes it with the target style.

Backbones: a Transformer decoder with cross-attention, or a GRU decoder with Luong et al.
(2015) global attention.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from textvae.config import CycleConfig, DecoderConfig, ModelConfig
from textvae.data.batching import Batch, collate
from textvae.data.noise import local_shuffle, token_drop, word_dropout
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from textvae.decoding.search import add_gumbel, greedy, sample, soft_decode
from textvae.errors import TextvaeError
from textvae.models.decoders import TransformerDecoder
from textvae.models.encoders import build_encoder, padding_mask
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.schedules import schedule_value

State = Dict[str, torch.Tensor]


class StyleTransformerDecoder(TransformerDecoder):
    """Transformer decoder conditioned on encoder states (cross-attention) and a style vector."""

    static_steps = False  # the memory's length changes with each batch's sources: no CUDA graphs

    def __init__(self, embedding: nn.Embedding, memory_size: int, config: DecoderConfig, dropout: float):
        super().__init__(embedding, 0, config, dropout, cross=True)
        self.memory_proj = nn.Linear(memory_size, config.hidden_size)

    def condition(self, context: State) -> State:
        return {"memory": self.memory_proj(context["states"]), "memory_mask": context["mask"],
                "add": context["style_vector"]}


class AttentionRNNDecoder(nn.Module):
    """GRU/LSTM decoder with global (dot) attention over encoder states (Luong et al. 2015);
    the style vector is added to every input embedding and the sentence vector sets the
    initial state."""

    def __init__(self, embedding: nn.Embedding, memory_size: int, config: DecoderConfig, dropout: float):
        super().__init__()
        from textvae.models.encoders import RNNS

        self.embedding, self.config = embedding, config
        hidden, layers = config.hidden_size, config.num_layers
        self.is_lstm = config.type == "lstm"
        self.rnn = RNNS[config.type](embedding.embedding_dim, hidden, num_layers=layers, batch_first=True,
                                     dropout=config.dropout if layers > 1 else 0.0)
        self.init = nn.Linear(memory_size, hidden * layers)
        self.keys = nn.Linear(memory_size, hidden, bias=False)
        self.combine = nn.Linear(hidden + memory_size, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, embedding.num_embeddings)

    def condition(self, context: State) -> State:
        batch = context["states"].size(0)
        layers, hidden = self.config.num_layers, self.config.hidden_size
        h = torch.tanh(self.init(context["sentence"])).view(batch, layers, hidden).transpose(0, 1).contiguous()
        cond = {"memory": context["states"], "keys": self.keys(context["states"]), "memory_mask": context["mask"],
                "add": context["style_vector"], "h": h}
        if self.is_lstm:
            cond["c"] = torch.zeros_like(h)
        return cond

    def _attend(self, out: torch.Tensor, cond: State) -> torch.Tensor:
        scores = out @ cond["keys"].transpose(1, 2)  # (B, T, S)
        scores = scores.masked_fill(~cond["memory_mask"][:, None, :], float("-inf"))
        context = scores.softmax(-1) @ cond["memory"]
        return torch.tanh(self.combine(torch.cat([out, context], -1)))

    def _run(self, x: torch.Tensor, cond: State):
        hidden = (cond["h"], cond["c"]) if self.is_lstm else cond["h"]
        out, hidden = self.rnn(self.dropout(x + cond["add"][:, None, :]), hidden)
        return out, hidden

    def forward(self, tgt_in: torch.Tensor, context: State, state: Optional[State] = None) -> torch.Tensor:
        cond = self.condition(context)
        out, _ = self._run(self.embedding(tgt_in), cond)
        return self.out(self.dropout(self._attend(out, cond)))

    def initial_state(self, context: State, cache: bool = True, static: bool = False) -> State:
        return self.condition(context)

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        return self.step_embedded(state, self.embedding(last_tokens))

    def step_embedded(self, state: State, embedded: torch.Tensor) -> Tuple[torch.Tensor, State]:
        out, hidden = self._run(embedded[:, None], state)
        new = dict(state)
        if self.is_lstm:
            new["h"], new["c"] = hidden
        else:
            new["h"] = hidden
        logits = self.out(self.dropout(self._attend(out, state)[:, 0]))
        return logits.float(), new

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return {k: v.index_select(1 if k in ("h", "c") else 0, index) for k, v in state.items()}


def build_attention_decoder(embedding: nn.Embedding, memory_size: int, config: ModelConfig) -> nn.Module:
    """The decoder ``config.decoder`` names, attending to ``memory_size``-wide states; its
    ``style_size`` is the width of the style vector it adds to its inputs."""
    if config.decoder.type == "transformer":
        decoder = StyleTransformerDecoder(embedding, memory_size, config.decoder, config.dropout)
        decoder.style_size = config.decoder.hidden_size
    else:
        decoder = AttentionRNNDecoder(embedding, memory_size, config.decoder, config.dropout)
        decoder.style_size = config.embedding_dim
    return decoder


def soft_style_loss(decoder: nn.Module, embedding: nn.Embedding, classifier: nn.Module, state: State,
                    targets: torch.Tensor, max_len: int, cycle: CycleConfig, training: bool
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of a frozen copy of ``classifier`` towards ``targets`` on the decoder's soft
    (Gumbel-softmax while training) outputs, so gradients reach the decoder but not the
    classifier; returns ``(loss, accuracy)``."""
    soft = soft_decode(decoder.step_embedded, embedding.weight, state, targets.size(0), max_len,
                       temperature=cycle.soft_temperature, gumbel=cycle.gumbel and training)
    return _frozen_classifier_loss(classifier, soft["probs"], soft["mask"], targets)


def prefix_style_loss(decoder: nn.Module, classifier: nn.Module, context: State, tokens: torch.Tensor,
                      lengths: torch.Tensor, targets: torch.Tensor, cycle: CycleConfig, training: bool
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``greedy_prefix`` relaxation of the style loss: one teacher-forced decoder pass over
    hard transfers ``tokens`` ``(B, T)`` (e.g. the greedy back-translations), the classifier
    reading the (Gumbel-)softmax at each of the first ``lengths`` positions."""
    inputs = torch.cat([torch.full_like(tokens[:, :1], BOS_ID), tokens[:, :-1]], 1)
    logits = decoder(inputs, context).float()
    if cycle.gumbel and training:
        logits = add_gumbel(logits)
    probs = (logits / cycle.soft_temperature).softmax(-1)
    mask = torch.arange(tokens.size(1), device=tokens.device)[None, :] < lengths[:, None]
    return _frozen_classifier_loss(classifier, probs, mask, targets)


def _frozen_classifier_loss(classifier: nn.Module, probs: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor
                            ) -> Tuple[torch.Tensor, torch.Tensor]:
    frozen = {name: p.detach() for name, p in classifier.named_parameters()}
    logits = functional_call(classifier, frozen, (), {"probs": probs, "mask": mask})
    return F.cross_entropy(logits.float(), targets), (logits.argmax(-1) == targets).float().mean().detach()


def style_loss_rows(batch_size: int, cycle: CycleConfig, training: bool, device) -> torch.Tensor:
    """The rows of a batch the style loss decodes: a random ``cycle.style_fraction`` of them
    while training (at least one), all of them otherwise."""
    if not training or cycle.style_fraction >= 1:
        return torch.arange(batch_size, device=device)
    keep = max(1, round(batch_size * cycle.style_fraction))
    return torch.randperm(batch_size, device=device)[:keep]


def classifier_terms(classifier: nn.Module, src: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The style classifier's own loss and accuracy on real sentences."""
    logits = classifier(tokens=src)
    return {"clf_loss": F.cross_entropy(logits.float(), labels),
            "clf_acc": (logits.argmax(-1) == labels).float().mean().detach()}


def transfer_in_batches(text_model, sentences: Sequence[str], options: dict, prepare,
                        rerank: Optional[Callable] = None) -> List:
    """Batched transfer: ``prepare(batch)`` gives ``[(rows, decoder, context), ...]`` for the
    rows of a batch; each group is decoded with the decoding ``options``. ``rerank(ids, scores,
    sources)`` reorders every row's beam candidates (see :meth:`ClassifierFeedbackModel.reranker`)."""
    from textvae.decoding import DecodeOptions, decode

    opts = DecodeOptions.from_kwargs(**options)
    search = opts
    if rerank is not None:
        if opts.strategy != "beam" or opts.beam_size < 2:
            raise TextvaeError("reranking chooses among beam candidates: use beam search with a beam of 2 or more "
                               "(--strategy beam --beam 5)")
        search = dataclasses.replace(opts, n_best=opts.beam_size)
    out: List = [None] * len(sentences)
    for indices, batch in text_model._batches(list(sentences), max_sentences=opts.batch_size):
        max_len = opts.max_len or int(batch.lengths.max()) * 2 + 5
        for rows, decoder, context in prepare(batch):
            ids, scores = decode(decoder, context, search, max_len=max_len)
            if rerank is not None:
                ids = rerank(ids, scores, batch.rows(rows))
            for position, row in enumerate(rows.tolist()):
                texts = [text_model.tokenizer.decode(seq) for seq in ids[position][:opts.n_best]]
                out[indices[row]] = texts[0] if opts.n_best == 1 else texts
    return out


def lm_scorer(text_model, lm) -> Callable[[List[List[int]]], torch.Tensor]:
    """Per-token NLL of token-id sequences in ``text_model``'s vocabulary under the language model
    ``lm`` (a loaded :class:`textvae.api.TextModel` or its path; any tokenizer: the candidates
    go through text)."""
    from textvae.api import load_language_model

    lm = load_language_model(lm, text_model.device)  # refused before any decoding if it is not an LM
    return lambda ids: lm.sentence_nll([text_model.tokenizer.decode(seq) for seq in ids])


def check_rerank_weights(weight: float, cycle_weight: float, lm_weight: float, lm_score: Optional[Callable]) -> bool:
    """Refuse negative (or NaN) rerank weights and LM reranking without an LM; True if any is on."""
    if not (weight >= 0 and cycle_weight >= 0 and lm_weight >= 0):  # also refuses NaN
        raise TextvaeError(f"rerank weights must be 0 (off) or positive, got {weight}, {cycle_weight} and "
                           f"{lm_weight}")
    if lm_weight > 0 and lm_score is None:
        raise TextvaeError("language-model reranking needs a language model (--lm DIR)")
    return weight > 0 or cycle_weight > 0 or lm_weight > 0


def candidate_reranker(weight: float, cycle_weight: float, lm_weight: float, style_log_prob: Callable,
                       rebuild_nll: Callable, lm_score: Optional[Callable]) -> Callable:
    """``rerank(ids, scores, sources)``: every source's beam candidates ``ids`` (lists of token
    ids) reordered by beam score + ``weight`` x ``style_log_prob(candidates)`` (the target
    style's log-probability) - ``cycle_weight`` x the per-token NLL of rebuilding the source
    from the candidate (``rebuild_nll(candidates, sources, k)``, summed NLL per candidate) -
    ``lm_weight`` x the candidate's per-token NLL under a language model (``lm_score(ids)``).
    ``candidates`` is the batch of all ``N x k`` candidates, source-major."""

    def rerank(ids: List[List[List[int]]], scores: torch.Tensor, sources: Batch) -> List[List[List[int]]]:
        k = len(ids[0])
        device = sources.src.device
        candidates = collate([seq or [UNK_ID] for row in ids for seq in row]).to(device)
        total = scores.to(device)
        if lm_weight > 0:
            per_token = lm_score([seq for row in ids for seq in row]).to(device)
            total = total - lm_weight * per_token.view(len(ids), k)
        if weight > 0:
            total = total + weight * style_log_prob(candidates).view(len(ids), k)
        if cycle_weight > 0:
            tokens = (sources.tgt_out != PAD_ID).sum(1).repeat_interleave(k)
            per_token = rebuild_nll(candidates, sources, k).float() / tokens
            total = total - cycle_weight * per_token.view(len(ids), k)
        order = total.argsort(dim=-1, descending=True, stable=True).tolist()
        return [[row[j] for j in ranks] for row, ranks in zip(ids, order)]

    return rerank


class StyleClassifier(nn.Module):
    """A CNN sentence classifier (Kim 2014) that also reads soft token distributions."""

    def __init__(self, vocab_size: int, embedding_dim: int, num_labels: int, filters: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, filters, k, padding=k // 2) for k in (3, 4, 5))
        self.out = nn.Linear(3 * filters, num_labels)

    def forward(self, tokens: Optional[torch.Tensor] = None, probs: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits from token ids ``(B, T)`` or distributions ``(B, T, V)`` with a ``(B, T)`` mask."""
        if tokens is not None:
            x, mask = self.embedding(tokens), tokens != PAD_ID
        else:
            x = probs.to(self.embedding.weight.dtype) @ self.embedding.weight
        x = (x * mask[..., None].to(x.dtype)).transpose(1, 2)
        pooled = [conv(x)[..., :x.size(2)].masked_fill(~mask[:, None, :], -1e4).max(-1).values for conv in self.convs]
        return self.out(torch.cat(pooled, -1))


class ClassifierFeedbackModel(nn.Module):
    """What the style-transfer models without a latent code share: a step counter for the
    schedules, the CNN style classifier trained alongside (when ``cycle.style_weight`` is on) and
    the optimizer groups (main, classifier; frozen parameters in neither)."""

    has_latent = False

    def __init__(self, config: ModelConfig, num_labels: int):
        super().__init__()
        self.config, self.num_labels, self.step_count = config, num_labels, 0
        self.classifier: Optional[StyleClassifier] = None

    def add_classifier(self, vocab_size: int) -> None:
        """Called last in ``__init__`` (parameter order = initialisation order and optimizer order)."""
        cycle = self.config.cycle
        if cycle.style_weight.value > 0 or cycle.style_weight.start > 0:
            self.classifier = StyleClassifier(vocab_size, self.config.embedding_dim, self.num_labels,
                                              cycle.classifier_filters)

    @property
    def latent_dim(self) -> int:
        return 0

    def set_step(self, step: int) -> None:
        self.step_count = step

    def reranker(self, target: int, weight: float, cycle_weight: float = 0.0, lm_weight: float = 0.0,
                 lm_score: Optional[Callable] = None) -> Optional[Callable]:
        """With a weight > 0: a function ``rerank(ids, scores, sources)`` reordering the beam
        candidates ``ids`` (per source sentence, a list of token-id lists) by their beam score
        plus ``weight`` x the log-probability the style classifier trained alongside gives the
        ``target`` style, minus ``cycle_weight`` x the per-token NLL of rebuilding the source from
        the candidate in the source's style (the back-translation direction; the style is the
        classifier's best guess among the styles other than ``target``), minus ``lm_weight`` x the
        candidate's per-token NLL under a language model (``lm_score(ids)``, see :func:`lm_scorer`).
        ``sources`` is the batch of the source sentences. Candidates are reranked with a model of
        the style, one of the content and one of fluency, as in noisy-channel reranking (Yee et al.
        2019) and the dual rewards of Luo et al. (2019), at decoding time."""
        if not check_rerank_weights(weight, cycle_weight, lm_weight, lm_score):
            return None
        if (weight > 0 or cycle_weight > 0) and self.classifier is None:
            raise TextvaeError("this model was trained without a style classifier (model.cycle.style_weight 0), "
                               "so it cannot rerank; leave the rerank weights at 0")
        if cycle_weight > 0 and not hasattr(self, "rebuild_nll"):
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

        return candidate_reranker(weight, cycle_weight, lm_weight, style_log_prob, rebuild_nll, lm_score)

    def optimizer_groups(self) -> List[dict]:
        classifier = {id(p) for p in self.classifier.parameters()} if self.classifier is not None else set()
        groups = [{"name": "main", "loss": "loss",
                   "params": [p for p in self.parameters() if p.requires_grad and id(p) not in classifier]}]
        if self.classifier is not None:
            groups.append({"name": "classifier", "params": list(self.classifier.parameters()), "loss": "clf_loss",
                           "lr": self.config.cycle.classifier_lr})
        return groups


class StyleSeq2Seq(ClassifierFeedbackModel):
    """Encoder -> (attention) decoder told the target style; see the module docstring."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_labels: int):
        super().__init__(config, num_labels)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.encoder = build_encoder(self.embedding, config.encoder)
        self.input_dropout = nn.Dropout(config.dropout)
        self.decoder = build_attention_decoder(self.embedding, self.encoder.output_size, config)
        self.styles = nn.Embedding(num_labels, self.decoder.style_size)
        self.add_classifier(vocab_size)

    def context(self, src: torch.Tensor, lengths: torch.Tensor, styles: torch.Tensor) -> State:
        """What the decoder reads: encoder states, their mask, sentence vector, style vector."""
        states, sentence = self.encoder(src, lengths, embedded=self.input_dropout(self.embedding(src)))
        return {"states": states, "mask": ~padding_mask(lengths, src.size(1)), "sentence": sentence,
                "style_vector": self.styles(styles)}

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> State:
        _, sentence = self.encoder(src, lengths)
        return {"mean": sentence, "z": sentence}

    def other_styles(self, labels: torch.Tensor) -> torch.Tensor:
        """A random style different from each label (the other one when there are two)."""
        shift = torch.randint(1, self.num_labels, labels.shape, device=labels.device)
        return (labels + shift) % self.num_labels

    def _corrupt(self, src, lengths):
        noise = self.config.noise
        src, lengths = token_drop(src, lengths, noise.token_drop)
        src, lengths = local_shuffle(src, lengths, noise.shuffle_window)
        return word_dropout(src, lengths, noise.word_dropout)

    @torch.no_grad()
    def _back_translate(self, batch: Batch, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Transfers of the batch into ``targets`` by the current model (no gradient), as padded
        ``(tokens, lengths)`` inputs for the reverse direction."""
        cfg = self.config.cycle
        was_training = self.training
        self.eval()
        state = self.decoder.initial_state(self.context(batch.src, batch.lengths, targets))
        max_len = int(batch.lengths.max()) + cfg.extra_length
        if cfg.bt_strategy == "sample":
            ids = sample(self.decoder.step, self.decoder.select, state, len(batch), max_len,
                         device=batch.src.device, temperature=cfg.bt_temperature)
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

    def forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        cfg = self.config.cycle
        labels = batch.labels
        src, lengths = (self._corrupt(batch.src, batch.lengths) if self.training else (batch.src, batch.lengths))
        rec = sentence_nll(self.decoder(batch.tgt_in, self.context(src, lengths, labels)), batch.tgt_out)
        ntokens = (batch.tgt_out != PAD_ID).sum()
        out = {"rec": rec.mean().detach(), "nll_token": (rec.sum() / ntokens).detach()}
        loss = cfg.ae_weight * rec.mean()
        past_warmup = self.step_count >= cfg.warmup_steps
        targets = self.other_styles(labels)
        bt_weight = schedule_value(cfg.bt_weight, self.step_count - cfg.warmup_steps) if past_warmup else 0.0
        style_weight = schedule_value(cfg.style_weight, self.step_count - cfg.warmup_steps) if past_warmup else 0.0
        style_on = self.classifier is not None and (style_weight > 0 or not self.training)
        prefix = cfg.style_relaxation == "greedy_prefix"
        if bt_weight > 0 or not self.training or (style_on and prefix):
            tilde, tilde_lengths = self._back_translate(batch, targets)
        if bt_weight > 0 or not self.training:
            bt = sentence_nll(self.decoder(batch.tgt_in, self.context(tilde, tilde_lengths, labels)), batch.tgt_out)
            loss = loss + bt_weight * bt.mean()
            out["bt_rec"] = bt.mean().detach()
        if self.classifier is not None:
            out.update(classifier_terms(self.classifier, batch.src, labels))
            if style_on:
                rows = style_loss_rows(len(batch), cfg, self.training, labels.device)
                lengths = batch.lengths[rows]
                context = self.context(batch.src[rows], lengths, targets[rows])
                if prefix:
                    style_loss, out["transfer_acc"] = prefix_style_loss(
                        self.decoder, self.classifier, context, tilde[rows], tilde_lengths[rows], targets[rows],
                        cfg, self.training)
                else:
                    style_loss, out["transfer_acc"] = soft_style_loss(
                        self.decoder, self.embedding, self.classifier, self.decoder.initial_state(context),
                        targets[rows], int(lengths.max()) + cfg.extra_length, cfg, self.training)
                loss = loss + style_weight * style_loss
                out["style_loss"] = style_loss.detach()
        out["loss"] = loss
        return out

    def rebuild_nll(self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor,
                    styles: torch.Tensor) -> torch.Tensor:
        """Summed NLL per row of decoding ``tgt_out`` in ``styles`` from ``src`` (a transfer)."""
        return sentence_nll(self.decoder(tgt_in, self.context(src, lengths, styles)), tgt_out)

    @torch.inference_mode()
    def transfer(self, text_model, sentences: Sequence[str], to: str, strength: float = 1.0, rerank: float = 0.0,
                 rerank_cycle: float = 0.0, rerank_lm: float = 0.0, lm=None, **options) -> List:
        """``sentences`` written in style ``to`` (``strength`` does not apply to this model;
        ``rerank`` / ``rerank_cycle`` / ``rerank_lm`` > 0 choose among beam candidates, see
        :meth:`reranker`; ``lm``: the language model for ``rerank_lm``, a model or its path)."""
        target = text_model.label_names.index(to)

        def prepare(batch):
            styles = torch.full((len(batch),), target, dtype=torch.long, device=batch.src.device)
            return [(torch.arange(len(batch)), self.decoder, self.context(batch.src, batch.lengths, styles))]

        return transfer_in_batches(text_model, sentences, options, prepare,
                                   self.reranker(target, rerank, rerank_cycle, rerank_lm,
                                                 lm_scorer(text_model, lm) if rerank_lm else None))
