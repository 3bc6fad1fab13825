"""The back-translation pipeline (Prabhumoye et al. 2018) end to end, with tiny translation
models into a synthetic pivot language trained here."""

import os
import shutil

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.synthetic import synthetic_splits
from textvae.data.synthetic_mt import from_pivot, to_pivot, write_synthetic_mt
from textvae.errors import TextvaeError
from textvae.training import train
from tests.data.test_synthetic import NEGATIVE, POSITIVE

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_bst.yaml")
SPLITS = synthetic_splits(n_train=1500, n_dev=10, n_test=200, seed=0)


def overrides(mt, *extra):
    return [f"model.pivot.forward={mt / 'en-pivot'}", f"model.pivot.backward={mt / 'pivot-en'}",
            "data.path=synthetic:3000", "model.embedding_dim=32", "model.decoder.hidden_size=96",
            "train.max_minutes=null", "train.eval_max_sentences=100", "train.eval_transfer_sentences=40",
            "model.cycle.warmup_steps=60", *extra]


@pytest.fixture(scope="module")
def mt(tmp_path_factory):
    """English <-> pivot translation models (each a one-layer Marian model)."""
    dest = tmp_path_factory.mktemp("synthetic-mt")
    texts = [e.text for e in SPLITS["train"] + SPLITS["test"]]
    scores = write_synthetic_mt(dest, texts, steps=400)
    # the tiny MT models really translate (token accuracy; 0.78-0.95 seen, varying with thread scheduling)
    assert min(scores.values()) >= 0.7, scores
    return dest


@pytest.fixture(scope="module")
def trained(mt, tmp_path_factory):
    out = tmp_path_factory.mktemp("bst") / "run"
    train(load_recipe(RECIPE, overrides(mt, "train.max_steps=240", "train.eval_every=240",
                                        "train.checkpoint_every=240")), out)
    return out


def test_pivot_language_is_invertible():
    for example in SPLITS["test"][:50]:
        assert from_pivot(to_pivot(example.text)) == example.text
        words = {w for w in example.text.split() if w.isalpha()}
        assert words and words.isdisjoint(to_pivot(example.text).split())  # every word is translated


def test_decoders_write_the_requested_style(trained):
    model = textvae.load(trained, device="cpu")
    assert model.model.pivot_sentences(["the food was great ."]) == [to_pivot("the food was great .")]
    for source, target, words, opposite in ((0, "positive", POSITIVE, NEGATIVE), (1, "negative", NEGATIVE, POSITIVE)):
        examples = [e for e in SPLITS["test"] if e.label == source][:40]
        outputs = model.transfer([e.text for e in examples], to=target)
        styled = sum(bool(set(o.split()) & words) and not set(o.split()) & opposite for o in outputs)
        assert styled >= 0.7 * len(examples), list(zip([e.text for e in examples[:4]], outputs[:4]))


def test_a_bst_model_is_an_ordinary_checkpoint(trained, mt, tmp_path, capsys):
    """Self-contained (the MT directories can go), frozen MT weights, CLI transfer works."""
    from transformers import AutoModelForSeq2SeqLM

    model = textvae.load(trained, device="cpu")
    original = AutoModelForSeq2SeqLM.from_pretrained(mt / "en-pivot").state_dict()
    saved = model.model.pivot.forward_model.state_dict()
    assert all(torch.equal(saved[k], v) for k, v in original.items())  # the MT models were not trained
    source = tmp_path / "in.txt"
    source.write_text("the food was great .\n\nthe staff is rude .\n")
    moved = mt.parent / (mt.name + "-moved")
    mt.rename(moved)  # the model directory alone is enough
    try:
        assert main(["transfer", "--model", str(trained), "--to", "negative", "--input", str(source),
                     "--strategy", "beam", "--beam", "3"]) == 0
    finally:
        moved.rename(mt)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1] == "" and lines[0] and lines[2]


@pytest.mark.parametrize("case, message", [
    ("missing", "no such directory"),
    ("causal", "not a sequence-to-sequence"),
    ("mismatch", "tokenizer has"),
    ("style", "not a style of the corpus"),
])
def test_bad_translation_setup_fails_before_training(case, message, mt, tiny_models, tmp_path):
    extra = []
    if case == "missing":
        extra = [f"model.pivot.forward={tmp_path / 'nowhere'}"]
    elif case == "causal":
        extra = [f"model.pivot.backward={tiny_models / 'gpt'}"]
    elif case == "mismatch":  # a tokenizer with more tokens than the model has embeddings
        from textvae.data.synthetic_mt import word_tokenizer

        bad = tmp_path / "bad"
        shutil.copytree(mt / "en-pivot", bad)
        word_tokenizer([f"w{i}" for i in range(5000)]).save_pretrained(bad)
        extra = [f"model.pivot.forward={bad}"]
    else:
        extra = ["model.pivot.styles=[positive,joyful]"]
    out = tmp_path / "run"
    with pytest.raises(TextvaeError, match=message):
        train(load_recipe(RECIPE, overrides(mt, "train.max_steps=2", *extra)), out)
    assert not out.exists()


def test_bst_needs_translation_models():
    with pytest.raises(TextvaeError, match="model.pivot.forward"):
        load_recipe(RECIPE, ["model.pivot.forward=null"])
