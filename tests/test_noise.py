import torch

from textvae.data.batching import collate
from textvae.data.noise import local_shuffle, token_drop, word_dropout
from textvae.data.tokenizer import PAD_ID, UNK_ID


def _batch():
    return collate([list(range(4, 16)), [4, 5, 6], list(range(20, 28))])


def test_word_dropout_only_touches_real_tokens():
    b = _batch()
    same, _ = word_dropout(b.src, b.lengths, 0.0)
    assert torch.equal(same, b.src)
    dropped, lengths = word_dropout(b.src, b.lengths, 1.0)
    valid = b.src != PAD_ID
    assert bool((dropped[valid] == UNK_ID).all()) and bool((dropped[~valid] == PAD_ID).all())
    assert torch.equal(lengths, b.lengths)
    g = torch.Generator().manual_seed(0)
    half, _ = word_dropout(b.src, b.lengths, 0.5, generator=g)
    share = (half[valid] == UNK_ID).float().mean().item()
    assert 0.2 < share < 0.8


def test_token_drop_deletes_and_repacks():
    b = _batch()
    out, lengths = token_drop(b.src, b.lengths, 0.5, generator=torch.Generator().manual_seed(1))
    for row in range(3):
        kept = out[row, :lengths[row]].tolist()
        original = b.src[row, :b.lengths[row]].tolist()
        assert 1 <= len(kept) <= len(original)
        it = iter(original)
        assert all(tok in it for tok in kept)  # an ordered subsequence
        assert (out[row, lengths[row]:] == PAD_ID).all()
    _, never_empty = token_drop(b.src, b.lengths, 1.0)
    assert never_empty.tolist() == [1, 1, 1]


def test_local_shuffle_is_a_bounded_permutation():
    b = _batch()
    out, lengths = local_shuffle(b.src, b.lengths, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(lengths, b.lengths)
    for row in range(3):
        n = int(b.lengths[row])
        original = b.src[row, :n].tolist()
        shuffled = out[row, :n].tolist()
        assert sorted(shuffled) == sorted(original)
        for new_pos, tok in enumerate(shuffled):
            assert abs(original.index(tok) - new_pos) <= 3
        assert (out[row, n:] == PAD_ID).all()
    assert not torch.equal(out, b.src)
