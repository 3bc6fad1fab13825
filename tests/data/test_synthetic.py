"""The synthetic corpus: deterministic, balanced, and its ground truth is a correct transfer."""

import json
from collections import Counter

import pytest

from textvae.data import synthetic
from textvae.data.corpus import load_corpus
from textvae.data.synthetic import LABEL_NAMES, generate, synthetic_splits, write_synthetic_corpus
from textvae.errors import TextvaeError


_pairs = synthetic.style_pairs
POSITIVE = {positive for positive, _ in _pairs()}
NEGATIVE = {negative for _, negative in _pairs()}
ANTONYM = {a: b for pair in _pairs() for a, b in (pair, pair[::-1])}


def transfer_scores(model, test, per_style: int = 50, **options):
    """Each direction's transfers of ``per_style`` test examples by ``model`` (a loaded TextModel,
    with transfer ``options``):
    ``(examples, outputs, flipped, kept)``, flipped counting outputs with a target-style word and no
    source-style word, kept those with every noun of their source."""
    scores = []
    for source, target in ((0, "positive"), (1, "negative")):
        examples = [e for e in test if e.label == source][:per_style]
        outputs = model.transfer([e.text for e in examples], to=target, **options)
        scores.append((examples, outputs, *synthetic.transfer_truth(examples, outputs)))
    return scores


NOUNS = {noun for group in synthetic.NOUNS.values() for noun in group}


def test_vocabularies_are_disjoint_and_antonyms_are_a_bijection():
    words = [word for pair in _pairs() for word in pair]
    assert len(words) == len(set(words))
    assert not (set(words) & NOUNS) and not (set(words) & set(synthetic.INTENSIFIERS))
    assert len(synthetic.TEMPLATES) >= 15 and len(NOUNS) >= 30


def test_generate_is_deterministic_and_seed_dependent():
    assert generate(300, seed=3) == generate(300, seed=3)
    assert generate(300, seed=3) != generate(300, seed=4)
    assert generate(500, seed=3)[:300] == generate(300, seed=3)


def test_generate_is_balanced_distinct_and_review_like():
    examples = generate(2000, seed=1)
    assert Counter(e.label for e in examples) == {0: 1000, 1: 1000}
    assert len({e.text for e in examples}) == 2000
    lengths = [len(e.text.split()) for e in examples]
    assert min(lengths) >= 4 and max(lengths) <= 16
    assert all(e.text == e.text.lower() and e.text.split()[-1] in {".", "!"} for e in examples)
    def shape(text):
        return " ".join("N" if t in NOUNS else "S" if t in ANTONYM else "I" if t in synthetic.INTENSIFIERS else t
                        for t in text.split())

    assert len({shape(e.text) for e in examples}) >= 15


def test_ground_truth_flips_every_sentiment_word_and_keeps_everything_else():
    for example in generate(1000, seed=2):
        source, target = example.text.split(), example.transferred.split()
        assert len(source) == len(target)
        changed = [(a, b) for a, b in zip(source, target) if a != b]
        assert [a for a, _ in changed] == list(example.style_words)
        assert all(ANTONYM[a] == b for a, b in changed)
        assert example.style_words, example.text
        assert set(example.style_words) <= (POSITIVE if example.label == 1 else NEGATIVE)
        assert example.nouns and all(noun in NOUNS and noun in target for noun in example.nouns)
        assert len(set(example.nouns)) == len(example.nouns)


def test_splits_are_disjoint_and_sized():
    splits = synthetic_splits(n_train=3000, n_dev=200, n_test=100, seed=0)
    assert {k: len(v) for k, v in splits.items()} == {"train": 3000, "dev": 200, "test": 100}
    train = {e.text for e in splits["train"]}
    assert not train & {e.text for e in splits["dev"]}
    assert not train & {e.text for e in splits["test"]}
    assert not {e.text for e in splits["dev"]} & {e.text for e in splits["test"]}
    # growing train leaves the evaluation sets untouched
    assert synthetic_splits(n_train=500, n_dev=200, n_test=100)["test"] == splits["test"]


def test_negative_count_is_a_clear_error():
    with pytest.raises(TextvaeError, match="cannot generate -1"):
        generate(-1)


def test_write_synthetic_corpus_release_format_with_references(tmp_path):
    dest = write_synthetic_corpus(tmp_path / "syn", n_train=400, n_dev=40, n_test=20, seed=5)
    names = sorted(p.name for p in dest.iterdir())
    expected = [f"{s}.{l}" for s in ("dev", "test", "train") for l in (0, 1)]
    expected += [f"reference.{s}.{l}" for s in ("dev", "test", "train") for l in (0, 1)]
    assert names == sorted(expected + ["labels.json"])
    assert json.loads((dest / "labels.json").read_text()) == {"0": "negative", "1": "positive"}
    by_text = {e.text: e for e in generate(460, seed=5)}
    for label in (0, 1):
        lines = (dest / f"test.{label}").read_text().splitlines()
        refs = (dest / f"reference.test.{label}").read_text().splitlines()
        assert len(lines) == len(refs) == 10
        assert all(by_text[line].label == label and by_text[line].transferred == ref for line, ref in zip(lines, refs))
    corpus = load_corpus(str(dest))
    assert corpus.label_names == list(LABEL_NAMES)
    assert {s: len(corpus.datasets[s]) for s in corpus.splits} == {"train": 400, "dev": 40, "test": 20}


def test_write_synthetic_corpus_refuses_non_empty_dest_without_force(tmp_path):
    dest = tmp_path / "syn"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine\n")
    with pytest.raises(TextvaeError, match="already exists; pass --force"):
        write_synthetic_corpus(dest, n_train=10, n_dev=2, n_test=2)
    assert (dest / "keep.txt").exists()
    write_synthetic_corpus(dest, n_train=10, n_dev=2, n_test=2, force=True)
    assert not (dest / "keep.txt").exists() and (dest / "train.0").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["syn"]
