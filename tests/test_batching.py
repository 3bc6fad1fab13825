import random

import torch

from textvae.data.batching import BatchSchedule, bucket_batches, collate
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID

_RNG = random.Random(0)
LENGTHS = [_RNG.randint(1, 30) for _ in range(500)]  # one generator: varied lengths


def test_batches_cover_every_sentence_once_within_budget():
    batches = bucket_batches(LENGTHS, max_tokens=200, max_sentences=16, shuffle=True, seed=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(LENGTHS)))
    for batch in batches:
        assert len(batch) <= 16
        longest = max(LENGTHS[i] + 1 for i in batch)
        assert longest * len(batch) <= 200 or len(batch) == 1


def test_length_bucketing_keeps_padding_low():
    batches = bucket_batches(LENGTHS, max_tokens=400, max_sentences=64, shuffle=True, seed=0)
    padded = sum(max(LENGTHS[i] for i in b) * len(b) for b in batches)
    assert padded < 1.15 * sum(LENGTHS)


def test_random_batches_sample_the_corpus_and_keep_the_budget():
    import numpy as np

    batches = bucket_batches(LENGTHS, max_tokens=400, max_sentences=16, shuffle=True, seed=0, by_length=False)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    assert all(max(LENGTHS[i] + 1 for i in b) * len(b) <= 400 or len(b) == 1 for b in batches)
    # a batch's lengths spread like the corpus' (a bucketed batch's hardly spread at all)
    spread = np.mean([np.std([LENGTHS[i] for i in b]) for b in batches if len(b) > 4])
    bucketed = bucket_batches(LENGTHS, max_tokens=400, max_sentences=16, shuffle=True, seed=0)
    assert spread > 0.7 * np.std(LENGTHS) > 5 * np.mean([np.std([LENGTHS[i] for i in b]) for b in bucketed])
    schedule = BatchSchedule(LENGTHS, 400, 16, seed=1, by_length=False)
    assert schedule.epoch(2) == BatchSchedule(LENGTHS, 400, 16, seed=1, by_length=False).epoch(2)  # resumable


def test_seeded_shuffling_is_reproducible_and_varies_by_epoch():
    schedule = BatchSchedule(LENGTHS, 200, 16, seed=1)
    assert schedule.epoch(0) == BatchSchedule(LENGTHS, 200, 16, seed=1).epoch(0)
    assert schedule.epoch(0) != schedule.epoch(1)
    assert schedule.epoch(0) != BatchSchedule(LENGTHS, 200, 16, seed=2).epoch(0)


def test_ranks_take_disjoint_equal_shares():
    full = BatchSchedule(LENGTHS, 200, 16, seed=1).epoch(4)
    shares = [BatchSchedule(LENGTHS, 200, 16, seed=1, rank=r, world_size=3).epoch(4) for r in range(3)]
    assert len({len(s) for s in shares}) == 1
    assert [b for i in range(len(shares[0])) for b in (shares[0][i], shares[1][i], shares[2][i])] == \
        full[:3 * len(shares[0])]


def test_collate_pads_and_builds_decoder_inputs():
    batch = collate([[5, 6, 7], [8]], labels=[0, 1], index=[10, 11])
    assert batch.src.tolist() == [[5, 6, 7], [8, PAD_ID, PAD_ID]]
    assert batch.tgt_in.tolist() == [[BOS_ID, 5, 6, 7], [BOS_ID, 8, PAD_ID, PAD_ID]]
    assert batch.tgt_out.tolist() == [[5, 6, 7, EOS_ID], [8, EOS_ID, PAD_ID, PAD_ID]]
    assert batch.lengths.tolist() == [3, 1]
    assert batch.labels.tolist() == [0, 1] and batch.index.tolist() == [10, 11]
    assert batch.num_tokens == 6
    assert batch.to("cpu").src.dtype == torch.long
