"""Tiny machine-translation models between English and a synthetic pivot language.

The back-translation pipeline of Prabhumoye et al. (2018) needs an English -> pivot and a
pivot -> English translation model. Real ones (e.g. Marian en-fr / fr-en) cannot be downloaded
here, so tests and the synthetic recipe use models this module trains in seconds: the pivot
language maps every word to a made-up word (a deterministic, invertible spelling change) and
swaps neighbouring words, so translating needs both a lexicon and reordering.

    textvae data synthetic-mt DIR        # writes DIR/en-pivot and DIR/pivot-en

The directories are ordinary `transformers` checkpoints (a Marian model and a fast word-level
tokenizer), loadable with ``AutoModelForSeq2SeqLM`` / ``AutoTokenizer``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import List, Sequence

from textvae.errors import TextvaeError

log = logging.getLogger("textvae")

SPECIALS = ["<pad>", "<unk>", "</s>"]


def pivot_word(word: str) -> str:
    """The pivot spelling of an English word: reversed, with a marker (invertible)."""
    return word if not word.isalpha() else "q" + word[::-1]


def english_word(word: str) -> str:
    return word[1:][::-1] if word.startswith("q") and word[1:].isalpha() else word


def _swap_pairs(words: List[str]) -> List[str]:
    """Swap words 1<->2, 3<->4, ... (a final punctuation mark stays last)."""
    body, tail = (words[:-1], words[-1:]) if words and not words[-1].isalpha() else (words, [])
    out = list(body)
    for i in range(0, len(out) - 1, 2):
        out[i], out[i + 1] = out[i + 1], out[i]
    return out + tail


def to_pivot(sentence: str) -> str:
    """English -> pivot: spelling change, then neighbouring words swapped."""
    return " ".join(_swap_pairs([pivot_word(w) for w in sentence.split()]))


def from_pivot(sentence: str) -> str:
    """Pivot -> English: the exact inverse of :func:`to_pivot`."""
    return " ".join(english_word(w) for w in _swap_pairs(sentence.split()))


def word_tokenizer(sentences: Sequence[str]):
    """A fast whitespace word tokenizer over the words of ``sentences`` (appends ``</s>``)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for s in sentences for w in s.split()})
    vocab = {w: i for i, w in enumerate(SPECIALS + words)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="</s>")


def train_tiny_mt(sources: Sequence[str], targets: Sequence[str], out: Path, steps: int = 400,
                  d_model: int = 64, seed: int = 0, batch_size: int = 32):
    """Train a one-layer Marian model on ``sources -> targets`` and save it (with a tokenizer
    covering both sides) to ``out``. Returns the model's exact-match accuracy on 64 pairs."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    tokenizer = word_tokenizer(list(sources) + list(targets))
    config = MarianConfig(vocab_size=len(tokenizer), d_model=d_model, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=2 * d_model,
                          decoder_ffn_dim=2 * d_model, max_position_embeddings=128, dropout=0.0,
                          pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                          decoder_start_token_id=tokenizer.pad_token_id, forced_eos_token_id=tokenizer.eos_token_id,
                          scale_embedding=True, share_encoder_decoder_embeddings=True)
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    pairs = list(zip(sources, targets))
    model.train()
    for _ in range(steps):
        chunk = rng.sample(pairs, min(batch_size, len(pairs)))
        enc = tokenizer([s for s, _ in chunk], return_tensors="pt", padding=True)
        labels = tokenizer([t for _, t in chunk], return_tensors="pt", padding=True)["input_ids"]
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(**enc, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    probe = pairs[:64]
    with torch.inference_mode():
        enc = tokenizer([s for s, _ in probe], return_tensors="pt", padding=True)
        out_ids = model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=40)
    decoded = tokenizer.batch_decode(out_ids, skip_special_tokens=True)
    accuracy = sum(d.strip() == t for d, (_, t) in zip(decoded, probe)) / len(probe)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.max_length = 128
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return accuracy


def write_synthetic_mt(dest: Path, sentences: Sequence[str], steps: int = 400, seed: int = 0) -> dict:
    """Write ``dest/en-pivot`` and ``dest/pivot-en`` trained on ``sentences`` and their pivot
    translations; returns each model's exact-match accuracy on training pairs."""
    if not sentences:
        raise TextvaeError("no sentences to train the synthetic translation models on")
    dest = Path(dest)
    pivots = [to_pivot(s) for s in sentences]
    scores = {}
    for name, src, tgt in (("en-pivot", sentences, pivots), ("pivot-en", pivots, sentences)):
        scores[name] = train_tiny_mt(src, tgt, dest / name, steps=steps, seed=seed)
        log.info("synthetic MT %s: exact match %.2f on training pairs", name, scores[name])
    return scores
