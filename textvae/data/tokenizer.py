"""Sentencepiece tokenizer trained on the training split, cached, and saved in every checkpoint.

Special ids are fixed for every textvae model so that code never has to look them up:
``PAD_ID = 0``, ``UNK_ID = 1``, ``BOS_ID = 2``, ``EOS_ID = 3``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import List, Sequence, Union

import sentencepiece as spm

from textvae.config import TokenizerConfig
from textvae.errors import TextvaeError
from textvae.io import atomic_write_bytes

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"

TOKENIZER_FILE = "tokenizer.model"


def until_eos(ids: Sequence[int]) -> List[int]:
    """The ids before the first EOS, as Python ints."""
    out = []
    for idx in ids:
        if int(idx) == EOS_ID:
            break
        out.append(int(idx))
    return out


def default_cache_dir() -> Path:
    root = os.environ.get("TEXTVAE_CACHE") or Path.home() / ".cache" / "textvae"
    return Path(root) / "tokenizers"


class Tokenizer:
    """A thin, picklable wrapper around a sentencepiece model with textvae's fixed special ids."""

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        expected = {PAD_ID: PAD, UNK_ID: UNK, BOS_ID: BOS, EOS_ID: EOS}
        for idx, piece in expected.items():
            if self.sp.id_to_piece(idx) != piece:
                raise TextvaeError(
                    f"tokenizer model has '{self.sp.id_to_piece(idx)}' at id {idx}, expected '{piece}'; "
                    "retrain it with textvae"
                )

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    @property
    def vocab_size(self) -> int:
        return len(self)

    def encode(self, texts: Union[str, Sequence[str]]) -> Union[List[int], List[List[int]]]:
        """Token ids without BOS/EOS (the model adds them where it needs them)."""
        if isinstance(texts, str):
            return self.sp.encode(texts)
        return self.sp.encode(list(texts))

    def decode(self, ids: Union[Sequence[int], Sequence[Sequence[int]]]):
        """Ids back to text; stops at the first EOS and drops PAD/BOS."""
        if len(ids) and not isinstance(ids[0], int):
            return [self.decode(seq) for seq in ids]
        return self.sp.decode([i for i in until_eos(ids) if i not in (PAD_ID, BOS_ID)])

    def id_to_piece(self, idx: int) -> str:
        return self.sp.id_to_piece(idx)

    def save(self, path: Union[str, Path]) -> None:
        atomic_write_bytes(path, self.model_proto)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "Tokenizer":
        path = Path(path)
        if not path.is_file():
            raise TextvaeError(f"tokenizer model {path} does not exist")
        return cls(path.read_bytes())

    def __getstate__(self):
        return {"model_proto": self.model_proto}

    def __setstate__(self, state):
        self.__init__(state["model_proto"])


def _cache_key(texts: Sequence[str], config: TokenizerConfig) -> str:
    digest = hashlib.sha256()
    settings = {k: getattr(config, k) for k in ("type", "vocab_size", "character_coverage", "max_sentences")}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:20]


def train_tokenizer(texts: Sequence[str], config: TokenizerConfig) -> Tokenizer:
    """Train (or fetch from the cache) a sentencepiece model on ``texts``.

    The cache is keyed by the corpus content and tokenizer settings, so the same
    recipe on the same data reuses the model and different data never collides.
    """
    if not texts:
        raise TextvaeError("cannot train a tokenizer on an empty training split")
    key = _cache_key(texts, config)
    cache_dir = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
    cached = cache_dir / f"{config.type}-{config.vocab_size}-{key}.model"
    if cached.is_file():
        return Tokenizer.load(cached)
    proto = _train(texts, config)
    try:
        atomic_write_bytes(cached, proto)
    except OSError:
        pass  # a read-only cache only costs retraining next time
    return Tokenizer(proto)


def _train(texts: Sequence[str], config: TokenizerConfig) -> bytes:
    model = io.BytesIO()
    kwargs = dict(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type=config.type,
        character_coverage=config.character_coverage,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_piece=PAD,
        unk_piece=UNK,
        bos_piece=BOS,
        eos_piece=EOS,
        input_sentence_size=config.max_sentences,
        shuffle_input_sentence=True,
        num_threads=max(1, os.cpu_count() or 1),
        minloglevel=2,
    )
    if config.type == "word" or config.type == "char":
        kwargs["use_all_vocab"] = True
    try:
        try:
            spm.SentencePieceTrainer.train(vocab_size=config.vocab_size, **kwargs)
        except RuntimeError as exc:
            limit = re.search(r"Vocabulary size too high .*<= (\d+)", str(exc))
            if not limit:
                raise
            # A corpus too small for the requested size: take the largest vocabulary it supports.
            model.seek(0)
            model.truncate()
            kwargs["sentence_iterator"] = iter(texts)
            spm.SentencePieceTrainer.train(vocab_size=int(limit.group(1)), **kwargs)
    except RuntimeError as exc:
        raise TextvaeError(f"sentencepiece could not train a {config.type} tokenizer: {exc}") from None
    return model.getvalue()

