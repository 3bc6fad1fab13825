"""Length-bucketed dynamic batches with a token budget, and collation to padded tensors.

Sentences of similar length share a batch (little padding), a batch holds as many
sentences as fit in ``max_tokens`` padded tokens, and the order of batches is
shuffled with a seed that depends on the epoch, so a run is reproducible and a
resumed run sees the same batches as an uninterrupted one. Under data parallelism
every rank builds the same global list and takes every ``world_size``-th batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Iterator, List, Optional, Sequence, Tuple

import torch

from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID


@dataclass
class Batch:
    """A padded batch. ``src`` holds the sentence tokens (no BOS/EOS), ``tgt_in`` is
    BOS + tokens and ``tgt_out`` is tokens + EOS, so ``tgt_in[:, t]`` predicts ``tgt_out[:, t]``."""

    src: torch.Tensor  # (B, S) long, PAD-padded
    lengths: torch.Tensor  # (B,) long, tokens per sentence
    tgt_in: torch.Tensor  # (B, S + 1)
    tgt_out: torch.Tensor  # (B, S + 1)
    labels: torch.Tensor  # (B,) long; -1 where unknown
    index: torch.Tensor  # (B,) positions of the sentences in their split

    def to(self, device, non_blocking: bool = False) -> "Batch":
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)})

    def __len__(self) -> int:
        return self.src.size(0)

    def rows(self, index: torch.Tensor) -> "Batch":
        """The sentences at ``index`` (padding width unchanged)."""
        return Batch(**{f.name: getattr(self, f.name)[index.to(self.src.device)] for f in fields(self)})

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum()) + len(self)  # target tokens, EOS included


def collate(sequences: Sequence[Sequence[int]], labels: Optional[Sequence[int]] = None,
            index: Optional[Sequence[int]] = None) -> Batch:
    """Pad token id lists into a :class:`Batch`."""
    size = len(sequences)
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    width = int(lengths.max()) if size else 0
    src = torch.full((size, width), PAD_ID, dtype=torch.long)
    tgt_in = torch.full((size, width + 1), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((size, width + 1), PAD_ID, dtype=torch.long)
    tgt_in[:, 0] = BOS_ID
    for row, seq in enumerate(sequences):
        n = len(seq)
        if n:
            values = torch.as_tensor(seq, dtype=torch.long)
            src[row, :n] = values
            tgt_in[row, 1:n + 1] = values
            tgt_out[row, :n] = values
        tgt_out[row, n] = EOS_ID
    label_tensor = torch.tensor(labels if labels is not None else [-1] * size, dtype=torch.long)
    index_tensor = torch.tensor(index if index is not None else range(size), dtype=torch.long)
    return Batch(src, lengths, tgt_in, tgt_out, label_tensor, index_tensor)


def bucket_batches(lengths: Sequence[int], max_tokens: int, max_sentences: int,
                   shuffle: bool = False, seed: int = 0, by_length: bool = True) -> List[List[int]]:
    """Group sentence indices into batches of similar length within a padded-token budget.

    Lengths count the target side (tokens + 1). With ``shuffle``, sentences of equal
    length are grouped in a random order and the batch order is shuffled; without it
    batches come in length order, which is what decoding wants. Without ``by_length`` (with
    ``shuffle``) a batch is a random draw of sentences, whatever their lengths: more padding, but
    a sample of the corpus, which objectives that estimate the aggregate posterior from a batch
    need (a length-bucketed batch hides every dependence that goes through the length).
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    if by_length or not shuffle:
        order.sort(key=lambda i: lengths[i])  # stable: ties keep the shuffled order
    batches: List[List[int]] = []
    current: List[int] = []
    longest = 0
    for i in order:
        size = lengths[i] + 1
        new_longest = max(longest, size)
        if current and (new_longest * (len(current) + 1) > max_tokens or len(current) >= max_sentences):
            batches.append(current)
            current, new_longest = [], size
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    if shuffle:
        rng.shuffle(batches)
    return batches


class BatchSchedule:
    """The batches of one split for every epoch, sliced for this rank under data parallelism."""

    def __init__(self, lengths: Sequence[int], max_tokens: int, max_sentences: int, seed: int = 0,
                 shuffle: bool = True, rank: int = 0, world_size: int = 1, by_length: bool = True):
        self.lengths = list(lengths)
        self.by_length = by_length
        self.max_tokens = max_tokens
        self.max_sentences = max_sentences
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size

    def epoch(self, epoch: int) -> List[List[int]]:
        batches = bucket_batches(self.lengths, self.max_tokens, self.max_sentences,
                                 shuffle=self.shuffle, seed=self.seed * 100_003 + epoch, by_length=self.by_length)
        usable = len(batches) - len(batches) % self.world_size  # every rank takes the same number of steps
        return batches[self.rank:usable:self.world_size]

    def __len__(self) -> int:
        return len(self.epoch(0))


def id_batches(ids: Sequence[Sequence[int]], labels: Optional[Sequence[int]] = None, max_tokens: int = 4096,
               max_sentences: int = 256) -> Iterator[Tuple[List[int], Batch]]:
    """Length-bucketed batches of token-id lists (and their labels), in order of length, each
    with the positions of its rows in ``ids`` (also its ``index``)."""
    for indices in bucket_batches([len(s) for s in ids], max_tokens, max_sentences):
        yield indices, collate([ids[i] for i in indices], None if labels is None else [labels[i] for i in indices],
                               indices)


def text_batches(tokenizer, sentences: Sequence[str], device, limit: Optional[int] = None, max_sentences: int = 256,
                 max_tokens: int = 8192) -> Iterator[Tuple[List[int], Batch]]:
    """:func:`id_batches` of sentences tokenised by ``tokenizer`` and cut to ``limit`` tokens, on ``device``."""
    ids = [x[:limit] for x in tokenizer.encode(list(sentences))] if limit else tokenizer.encode(list(sentences))
    for indices, batch in id_batches(ids, max_tokens=max_tokens, max_sentences=max_sentences):
        yield indices, batch.to(device)
