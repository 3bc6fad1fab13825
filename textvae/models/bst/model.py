"""Back-translation for style transfer (Prabhumoye et al. 2018, "Style Transfer Through
Back-Translation").

A sentence is translated into a pivot language by a forward MT model (English -> pivot) and
the pivot sentence is read by the encoder of a backward MT model (pivot -> English). Translation
keeps the meaning and loses much of the register, so the encoder states are a style-reduced
representation of the sentence. One decoder per style (attention over those states) learns to
write the sentence back in its own style (reconstruction), and a style loss on soft outputs
(Gumbel-softmax through a CNN classifier trained alongside on real sentences) pushes each
decoder to write in its style for sentences of the other styles too. Transfer = translate,
encode, decode with the target style's decoder.

The MT models are frozen; any `transformers` seq2seq checkpoints work (``model.pivot``). Their
architectures and tokenizers are saved next to the weights (``forward_mt/``, ``backward_mt/``),
and their weights go into the model file, so a trained model is self-contained. Translations of
training sentences are cached in memory (the forward model is deterministic at inference).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch
from torch import nn

from textvae.data.batching import Batch
from textvae.data.tokenizer import PAD_ID
from textvae.errors import TextvaeError
from textvae.models.base import DecodePlan
from textvae.models.bst.config import BSTConfig, PivotConfig
from textvae.models.components.attention import build_attention_decoder
from textvae.models.registry import register_model
from textvae.models.style_seq2seq.model import ClassifierFeedbackModel
from textvae.objectives.classifier_feedback import soft_style_loss, style_loss_rows
from textvae.objectives.reconstruction import sentence_nll
from textvae.objectives.terms import Context, LossTerm

State = Dict[str, torch.Tensor]
FORWARD_DIR, BACKWARD_DIR = "forward_mt", "backward_mt"


def _has_weights(path: Path) -> bool:
    return any(path.glob("*.safetensors")) or any(path.glob("*.bin"))


def load_translation_model(path: str, role: str):
    """``(model, tokenizer)`` of a local seq2seq checkpoint (or a hub name when online), refused in
    one line when it is missing, not a sequence-to-sequence model, or its tokenizer does not fit.
    A directory with a config but no weights (a textvae model directory) gives the architecture
    only: the weights come from the textvae model file."""
    import transformers

    where = f"model.pivot.{role} ({path})"
    local = Path(path)
    if not local.exists() and (local.is_absolute() or path.startswith((".", "~")) or len(local.parts) > 2):
        raise TextvaeError(f"{where}: no such directory; give a local translation model (e.g. Marian en-fr)")
    try:
        config = transformers.AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise TextvaeError(f"{where}: cannot read a transformers config: {str(exc).splitlines()[0]}") from None
    if not getattr(config, "is_encoder_decoder", False):
        raise TextvaeError(f"{where} is a {config.model_type} model, not a sequence-to-sequence (encoder-decoder) "
                           "translation model")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError, TypeError) as exc:
        raise TextvaeError(f"{where}: cannot load its tokenizer: {str(exc).splitlines()[0]}") from None
    try:
        auto = transformers.AutoModelForSeq2SeqLM
        model = auto.from_pretrained(path) if (_has_weights(local) or not local.exists()) else auto.from_config(config)
    except (OSError, ValueError) as exc:
        raise TextvaeError(f"{where}: cannot load the model: {str(exc).splitlines()[0]}") from None
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise TextvaeError(f"{where}: its tokenizer has {len(tokenizer)} tokens but the model only {rows} embeddings; "
                           "the tokenizer belongs to another model")
    return model, tokenizer


def check_pivot(pivot: PivotConfig, label_names: Sequence[str]) -> None:
    """Before training: both translation models load, and the decoder styles exist."""
    for role in ("forward", "backward"):
        load_translation_model(getattr(pivot, role), role)
    for name in pivot.styles or []:
        if name not in label_names:
            raise TextvaeError(f"model.pivot.styles names '{name}', which is not a style of the corpus "
                               f"({', '.join(label_names)})")


class PivotEncoder(nn.Module):
    """English sentences -> pivot translations -> the backward model's encoder states (frozen)."""

    def __init__(self, config: PivotConfig):
        super().__init__()
        self.config = config
        self.forward_model, self.forward_tokenizer = load_translation_model(config.forward, "forward")
        backward, self.backward_tokenizer = load_translation_model(config.backward, "backward")
        self.backward_config = backward.config
        self.encoder = backward.get_encoder()
        self.hidden_size = backward.config.d_model if hasattr(backward.config, "d_model") else backward.config.hidden_size
        for p in self.parameters():
            p.requires_grad_(False)
        self.cache: Dict[str, str] = {}

    def train(self, mode: bool = True):  # frozen: always in inference mode (no dropout)
        return super().train(False)

    @torch.no_grad()
    def translate(self, sentences: Sequence[str]) -> List[str]:
        """Pivot translations, from the cache where known."""
        todo = sorted({s for s in sentences if s not in self.cache}, key=lambda s: (len(s), s))  # less padding
        device = next(self.forward_model.parameters()).device
        for start in range(0, len(todo), 64):
            chunk = todo[start:start + 64]
            enc = self.forward_tokenizer(chunk, return_tensors="pt", padding=True, truncation=True,
                                         max_length=self.config.max_length).to(device)
            ids = self.forward_model.generate(**enc, num_beams=self.config.num_beams, do_sample=False,
                                              max_length=self.config.max_length + 1)  # + the start token
            for source, pivot in zip(chunk, self.forward_tokenizer.batch_decode(ids, skip_special_tokens=True)):
                self.cache[source] = pivot.strip()
        return [self.cache[s] for s in sentences]

    @torch.no_grad()
    def forward(self, sentences: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor, List[str]]:
        """``(states (B, S, H), mask (B, S) True at real tokens, pivot sentences)``."""
        pivots = self.translate(sentences)
        device = next(self.encoder.parameters()).device
        enc = self.backward_tokenizer(pivots, return_tensors="pt", padding=True, truncation=True,
                                      max_length=self.config.max_length).to(device)
        states = self.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        return states, enc["attention_mask"].bool(), pivots

    def save_parts(self, directory: Path) -> None:
        """Architectures and tokenizers (the weights are in the textvae model file)."""
        self.forward_model.config.save_pretrained(directory / FORWARD_DIR)
        self.forward_model.generation_config.save_pretrained(directory / FORWARD_DIR)
        self.forward_tokenizer.save_pretrained(directory / FORWARD_DIR)
        self.backward_config.save_pretrained(directory / BACKWARD_DIR)
        self.backward_tokenizer.save_pretrained(directory / BACKWARD_DIR)


@register_model("bst", config=BSTConfig)
class BSTModel(ClassifierFeedbackModel):
    """Pivot encoder (frozen MT) -> one attention decoder per style; see the module docstring."""

    min_styles = 2

    test_overrides = ("model.embedding_dim=16", "model.decoder.hidden_size=16", "model.pivot.forward={mt_forward}", "model.pivot.backward={mt_backward}",
                      "model.cycle.warmup_steps=1", "model.cycle.style_weight.value=1")

    def __init__(self, config: BSTConfig, vocab_size: int, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.tokenizer = tokenizer  # textvae's: batches hold its ids, the MT models read text
        self.pivot = PivotEncoder(config.pivot)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.memory_proj = nn.Linear(self.pivot.hidden_size, self.pivot.hidden_size)
        names = list(label_names)
        self.decoder_styles = [names.index(n) for n in config.pivot.styles or names if n in names] or list(range(self.num_labels))
        self.decoders = nn.ModuleList(build_attention_decoder(self.embedding, self.pivot.hidden_size, config.decoder,
                                                              config.dropout)
                                      for _ in self.decoder_styles)
        self.add_classifier(vocab_size)

    @classmethod
    def check_setup(cls, config: BSTConfig, label_names: Sequence[str]) -> None:
        super().check_setup(config, label_names)
        check_pivot(config.pivot, label_names)

    def save_parts(self, directory: Path) -> None:
        self.pivot.save_parts(directory)

    @classmethod
    def load_parts(cls, config: BSTConfig, directory: Path):
        """The translation architectures saved beside the weights."""
        config.pivot.forward, config.pivot.backward = str(directory / FORWARD_DIR), str(directory / BACKWARD_DIR)
        return config, None

    def decoder_for(self, style: int) -> nn.Module:
        if style not in self.decoder_styles:
            raise TextvaeError(f"this model has no decoder for style {style} (model.pivot.styles)")
        return self.decoders[self.decoder_styles.index(style)]

    def decoder_context(self, src: torch.Tensor, lengths: torch.Tensor) -> State:
        """What every decoder reads: the pivot encoder's states of the batch's sentences."""
        states, mask, _ = self.pivot(self.tokenizer.decode(src.tolist()))
        states = self.memory_proj(states.to(self.memory_proj.weight.dtype))
        denom = mask.sum(1, keepdim=True).clamp(min=1)
        sentence = (states * mask[..., None]).sum(1) / denom
        style = torch.zeros(src.size(0), self.decoders[0].style_size, device=states.device, dtype=states.dtype)
        return {"states": states, "mask": mask, "sentence": sentence, "style_vector": style}

    @staticmethod
    def _rows(context: State, rows: torch.Tensor) -> State:
        return {k: v[rows] for k, v in context.items()}

    def other_styles(self, labels: torch.Tensor) -> torch.Tensor:
        """A random decoder style different from each label."""
        options = torch.tensor(self.decoder_styles, device=labels.device)
        pick = options[torch.randint(0, len(options), labels.shape, device=labels.device)]
        if len(options) > 1:
            same = pick == labels
            while bool(same.any()):
                pick[same] = options[torch.randint(0, len(options), (int(same.sum()),), device=labels.device)]
                same = pick == labels
        return pick

    # ---------------------------------------------------------------- objective

    def loss_terms(self) -> List[LossTerm]:
        return [LossTerm("rec", lambda context: context["rec"]), *self.style_term(self._style_term)]

    def context(self, batch: Batch) -> Context:
        """The pivot states and each decoder's reconstruction of the sentences of its own style."""
        labels = batch.labels
        decoder_context = self.decoder_context(batch.src, batch.lengths)
        rec_sum, rec_rows = torch.zeros((), device=batch.src.device), 0
        ntokens = torch.zeros((), device=batch.src.device)
        for style in self.decoder_styles:
            rows = (labels == style).nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            logits = self.decoder_for(style)(batch.tgt_in[rows], self._rows(decoder_context, rows))
            nll = sentence_nll(logits, batch.tgt_out[rows])
            rec_sum, rec_rows = rec_sum + nll.sum(), rec_rows + rows.numel()
            ntokens = ntokens + (batch.tgt_out[rows] != PAD_ID).sum()
        rec = rec_sum / max(rec_rows, 1)
        context = {"batch": batch, "decoder_context": decoder_context,
                   "rec": (rec, {"rec": rec.detach(), "nll_token": (rec_sum / ntokens.clamp(min=1)).detach()})}
        context.update(self.classifier_context(batch))
        return context

    def _style_term(self, context: Context):
        """Each decoder writes its style for the other styles' sentences, read by the classifier."""
        if len(self.decoder_styles) < 2:
            return None
        cfg, batch = self.config.cycle, context["batch"]
        targets = self.other_styles(batch.labels)
        chosen = style_loss_rows(len(batch), cfg, self.training, batch.labels.device)
        style_sum, correct = torch.zeros((), device=batch.src.device), torch.zeros((), device=batch.src.device)
        max_len = int(batch.lengths[chosen].max()) + cfg.extra_length
        for style in self.decoder_styles:
            rows = chosen[targets[chosen] == style]
            if rows.numel() == 0:
                continue
            decoder = self.decoder_for(style)
            part, acc = soft_style_loss(decoder, self.embedding, self.classifier,
                                        decoder.initial_state(self._rows(context["decoder_context"], rows)),
                                        targets[rows], max_len, cfg, self.training)
            style_sum, correct = style_sum + part * rows.numel(), correct + acc * rows.numel()
        style_loss = style_sum / len(chosen)
        return style_loss, {"style_loss": style_loss.detach(), "transfer_acc": (correct / len(chosen)).detach()}

    # ---------------------------------------------------------------- transfer

    def pivot_sentences(self, sentences: Sequence[str]) -> List[str]:
        """The pivot translations the decoders read (for inspection)."""
        return self.pivot.translate(list(sentences))

    def check_target(self, target: int, label_names: Sequence[str]) -> None:
        if target not in self.decoder_styles:
            have = ", ".join(label_names[i] for i in self.decoder_styles)
            raise TextvaeError(f"this model has decoders for {have} only, not '{label_names[target]}'")

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """That style's decoder reads the pivot states (``strength`` does not apply)."""
        return [(torch.arange(len(batch)), self.decoder_for(target), self.decoder_context(batch.src, batch.lengths))]
