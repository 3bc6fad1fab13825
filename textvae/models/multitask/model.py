"""Multitask sentence autoencoders (Brunner, Wang, Wattenhofer and Weigelt 2018, "Natural language
multitasking: analyzing and improving syntactic saliency of hidden representations").

One encoder and code, several decoders from that code: the reconstruction decoder (an ordinary
autoencoder or VAE), a decoder of the sentence's part-of-speech sequence and a decoder of its
translation. The paper finds that the extra decoders make the code's geometry more syntactic
(sentences of one template cluster together), which ``textvae evaluate syntax`` measures.

What differs from the paper: the translation task is the synthetic pivot language of textvae's
back-translation pipeline (respelt words, neighbouring words swapped; exact, no MT model needed)
instead of English -> French with a parallel corpus; POS tags come from a word -> tag lexicon (the
factor corpus' grammar, a file from the user's tagger, or a local spaCy pipeline's most frequent
tag for each word over the training sentences) instead of a tagger run on every sentence, so
that a batch's tags are a lookup of its token ids; both extra tasks need a word-level tokenizer
(one token per word).
"""

from __future__ import annotations

from typing import List, Optional

import torch
from torch import nn

from textvae.data.batching import Batch
from textvae.data.tags import TAG_IDS, load_tagger
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from textvae.decoding import greedy
from textvae.errors import TextvaeError
from textvae.models.base import TrainingData
from textvae.models.components.decoders import build_decoder
from textvae.models.multitask.config import MultitaskConfig
from textvae.models.registry import register_model
from textvae.models.seq2seq.model import Seq2SeqAutoencoder
from textvae.objectives.reconstruction import token_accuracy
from textvae.objectives.terms import Context, LossTerm


def swap_pairs(tokens: torch.Tensor, lengths: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """For each row, the positions of :func:`textvae.data.synthetic_mt.to_pivot`'s word order:
    words 1<->2, 3<->4, ... swapped, a final non-word token (punctuation) kept last; ``(B, T)``
    gather indices (positions past the sentence map to themselves). ``alpha[id]``: the token is a word."""
    positions = torch.arange(tokens.size(1), device=tokens.device)[None].expand_as(tokens)
    last = tokens.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
    body = torch.where(alpha[last], lengths, lengths - 1)[:, None]
    even = positions % 2 == 0
    return torch.where(even & (positions + 1 < body), positions + 1,
                       torch.where(~even & (positions < body), positions - 1, positions))


@register_model("multitask", config=MultitaskConfig)
class MultitaskAutoencoder(Seq2SeqAutoencoder):
    """An autoencoder (or VAE) with a POS decoder and/or a translation decoder on its code."""

    test_overrides = ("model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16",
                      "model.latent.dim=8", "model.decoders.pos=1", "model.decoders.translation=1",
                      "model.pos_tags=factors")

    def build(self, vocab_size: int, tokenizer) -> None:
        super().build(vocab_size, tokenizer)
        config = self.config
        dim = config.embedding_dim
        if config.decoders.pos > 0:
            self.pos_embedding = nn.Embedding(len(TAG_IDS), dim, padding_idx=PAD_ID)
            self.pos_decoder = build_decoder(self.pos_embedding, self.latent_dim, config.decoder, config.dropout)
        if config.decoders.translation > 0:  # the pivot language: its own embeddings over the same ids
            self.pivot_embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
            self.translation_decoder = build_decoder(self.pivot_embedding, self.latent_dim, config.decoder,
                                                     config.dropout)
        # token id -> POS tag id, and whether the token is a word (the pivot's reordering keeps
        # final punctuation); set by prepare() from the tokenizer, saved with the weights
        self.register_buffer("token_tags", torch.full((vocab_size,), TAG_IDS["<unk>"], dtype=torch.long))
        self.register_buffer("token_is_word", torch.ones(vocab_size, dtype=torch.bool))

    def prepare(self, data: TrainingData) -> None:
        """Tag the vocabulary from the lexicon and check that tokens are words (both tasks align
        one target per word)."""
        super().prepare(data)
        config = self.config
        if config.decoders.pos == 0 and config.decoders.translation == 0:
            return
        sample = range(0, len(data.ids), max(1, len(data.ids) // 2000))
        if any(len(data.ids[i]) != len(data.texts[i].split()) for i in sample):
            raise TextvaeError("the POS and translation decoders need one token per word: use tokenizer.type word")
        tokenizer = data.tokenizer
        pieces = [tokenizer.id_to_piece(i).lstrip("\u2581") for i in range(len(tokenizer))]
        lexicon = load_tagger(config.pos_tags).lexicon(data.texts) if config.decoders.pos > 0 else {}
        tags = [TAG_IDS.get(lexicon.get(piece, "X"), TAG_IDS["X"]) for piece in pieces]
        for special in (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            tags[special] = special  # the tag ids keep the token ids' specials
        device = self.token_tags.device
        self.token_tags.copy_(torch.tensor(tags, device=device))
        self.token_is_word.copy_(torch.tensor([piece.isalpha() for piece in pieces], device=device))

    @property
    def pos_tags(self) -> Optional[str]:
        return self.config.pos_tags if self.config.decoders.pos > 0 else None

    # ------------------------------------------------------------ the extra tasks

    def task_targets(self, batch: Batch, task: str):
        """``(tgt_in, tgt_out)`` of ``task`` (``pos`` or ``translation``) for ``batch``."""
        if task == "pos":
            return self.token_tags[batch.tgt_in], self.token_tags[batch.tgt_out]
        order = swap_pairs(batch.tgt_out, batch.lengths, self.token_is_word)
        tgt_out = batch.tgt_out.gather(1, order)
        tgt_in = torch.cat([batch.tgt_in[:, :1], tgt_out[:, :-1]], 1)
        tgt_in = torch.where(tgt_in == EOS_ID, torch.full_like(tgt_in, PAD_ID), tgt_in)
        return tgt_in, tgt_out

    def _decoder_of(self, task: str):
        return self.pos_decoder if task == "pos" else self.translation_decoder

    def loss_terms(self) -> List[LossTerm]:
        terms = super().loss_terms()
        for task in ("pos", "translation"):
            weight = getattr(self.config.decoders, task)
            if weight > 0:
                terms.append(LossTerm(task, lambda context, task=task: self._task_loss(context, task), weight=weight))
        return terms

    def _task_loss(self, context: Context, task: str):
        batch, z = context["batch"], context["posterior"]["z"]
        tgt_in, tgt_out = self.task_targets(batch, task)
        decoder = self._decoder_of(task)
        nll = decoder.nll(tgt_in, z, tgt_out)
        metrics = {f"{task}_nll": nll.mean().detach()}
        if not self.training:
            metrics[f"{task}_acc"] = token_accuracy(decoder(tgt_in, z).detach(), tgt_out)
        return nll.mean(), metrics

    @torch.inference_mode()
    def decode_task(self, codes: torch.Tensor, task: str, max_len: int) -> torch.Tensor:
        """Greedy output of the ``pos`` or ``translation`` decoder from ``codes``, ``(B, max_len)`` ids
        (tag ids of :data:`textvae.data.tags.TAG_IDS`, or token ids of the pivot words)."""
        if getattr(self.config.decoders, task, 0) <= 0:
            raise TextvaeError(f"this model has no {task} decoder (model.decoders.{task} is 0)")
        decoder = self._decoder_of(task)
        return greedy(decoder.step, decoder.select, decoder.initial_state(codes), codes.size(0), max_len,
                      device=codes.device)
