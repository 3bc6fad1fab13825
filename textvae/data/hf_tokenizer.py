"""A `transformers` tokenizer behind textvae's fixed special ids.

Every textvae model sees pad 0, unk 1, bos 2, eos 3 (see :mod:`textvae.data.tokenizer`).
A pretrained model's own tokenizer has other ids, so this wrapper shifts its vocabulary by
``OFFSET``: textvae id ``k >= 4`` is the pretrained id ``k - 4``, and the four specials map to
the pretrained model's own bos/eos/unk/pad (``to_model_ids``). Batching, decoding and
evaluation then work unchanged; only the pretrained model translates at its boundary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import torch

from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, until_eos
from textvae.errors import TextvaeError

OFFSET = 4
HF_TOKENIZER_DIR = "tokenizer"


class HFTokenizer:
    """Wraps ``transformers.AutoTokenizer`` with textvae's id conventions."""

    def __init__(self, tokenizer):
        self.hf = tokenizer
        eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
        if eos is None:
            raise TextvaeError("the pretrained decoder's tokenizer has no end-of-sentence token")
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos
        unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else eos
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        self.special_model_ids = {PAD_ID: pad, UNK_ID: unk, BOS_ID: bos, EOS_ID: eos}

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path]) -> "HFTokenizer":
        from transformers import AutoTokenizer

        try:
            return cls(AutoTokenizer.from_pretrained(str(name_or_path)))
        except (OSError, ValueError) as exc:
            raise TextvaeError(f"cannot load a tokenizer from {name_or_path}: {str(exc).splitlines()[0]}") from None

    def __len__(self) -> int:
        return len(self.hf) + OFFSET

    @property
    def vocab_size(self) -> int:
        return len(self)

    def encode(self, texts: Union[str, Sequence[str]]):
        """textvae ids without BOS/EOS."""
        if isinstance(texts, str):
            return [i + OFFSET for i in self.hf.encode(texts, add_special_tokens=False)]
        encoded = self.hf(list(texts), add_special_tokens=False)["input_ids"]
        return [[i + OFFSET for i in ids] for ids in encoded]

    def decode(self, ids):
        if len(ids) and not isinstance(ids[0], int):
            return [self.decode(seq) for seq in ids]
        clean = [i - OFFSET for i in until_eos(ids) if i >= OFFSET]
        return self.hf.decode(clean, skip_special_tokens=True).strip()

    def to_model_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """textvae ids to the pretrained model's ids (specials to its own specials)."""
        out = ids - OFFSET
        for ours, theirs in self.special_model_ids.items():
            out = torch.where(ids == ours, torch.full_like(ids, theirs), out)
        return out

    def save(self, directory: Union[str, Path]) -> None:
        self.hf.save_pretrained(str(directory))

    @classmethod
    def load(cls, directory: Union[str, Path]) -> "HFTokenizer":
        return cls.from_pretrained(directory)
