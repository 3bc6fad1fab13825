"""A style classifier trained on its own (``model.type: classifier``, issue 23) and what asks it:
style reranking (``--scorer``) and the direct reward's style part (``model.reward.scorer``)."""

import json
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.errors import TextvaeError
from textvae.training import train
from textvae.transfer.batch import transfer_candidates
from textvae.transfer.rerank import ranking, reranked_scores

from tests.conftest import IBT_RECIPE, IBT_TINY

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
CLASSIFIER = ["data.path=synthetic:800", "train.max_minutes=null", "train.max_steps=150", "train.eval_every=150",
              "train.checkpoint_every=150", "train.eval_max_sentences=200", "model.embedding_dim=16",
              "model.encoder.hidden_size=16", "train.max_sentences=32", "train.lr=0.01"]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    out = tmp_path_factory.mktemp("scorer") / "classifier"
    train(load_recipe(os.path.join(RECIPES, "yelp_classifier.yaml"), CLASSIFIER), out)
    return out


def test_the_classifier_learns_the_synthetic_styles(scorer):
    result = json.loads((scorer / "result.json").read_text())
    assert result["test"]["clf_acc"] > 0.9  # the synthetic style word decides the label
    model = textvae.load(scorer, device="cpu")
    corpus = load_corpus("synthetic:800")
    texts, labels = corpus.texts("test")[:40], corpus.labels("test")[:40]
    probs = model.label_probabilities(texts + [""])  # an empty sentence is scored too
    assert probs.shape == (41, 2) and torch.allclose(probs.sum(1), torch.ones(41))
    assert (probs[:40].argmax(1) == torch.tensor(labels)).float().mean() > 0.9


def test_style_reranking_asks_the_scorer_instead_of_the_models_own_classifier(scorer, tiny_ibt_run):
    model, clf = textvae.load(tiny_ibt_run, device="cpu"), textvae.load(scorer, device="cpu")
    sources = load_corpus("synthetic:800").texts("test")[:6]
    candidates = transfer_candidates(model.model, model.tokenizer, model.label_names, sources, "positive",
                                     model.batches, 4, style=True, scorer=clf)
    for texts, _, features in candidates:
        expected = clf.label_probabilities(texts)[:, 1].clamp_min(1e-6).log()
        assert torch.allclose(features["style"], expected, atol=1e-5)
    scores = torch.stack([c[1] for c in candidates])
    features = {"style": torch.stack([c[2]["style"] for c in candidates])}
    best = ranking(reranked_scores(scores, features, weight=4.0))[:, 0].tolist()
    chosen = model.transfer(sources, to="positive", strategy="beam", beam_size=4, rerank=4.0, scorer=clf)
    assert chosen == [c[0][j] for c, j in zip(candidates, best)]
    own = model.transfer(sources, to="positive", strategy="beam", beam_size=4, rerank=4.0)
    assert model.transfer(sources, to="positive", strategy="beam", beam_size=4, rerank=4.0, scorer=str(scorer)) == chosen
    assert own == model.transfer(sources, to="positive", strategy="beam", beam_size=4, rerank=4.0, scorer=None)


def test_a_model_without_a_classifier_reranks_by_style_with_a_scorer(scorer, tmp_path):
    out = tmp_path / "no-classifier"
    train(load_recipe(IBT_RECIPE, IBT_TINY + ["train.max_steps=3", "model.cycle.style_weight.value=0"]), out)
    model = textvae.load(out, device="cpu")
    with pytest.raises(TextvaeError, match="without a style classifier"):
        model.transfer(["a sentence ."], to="positive", strategy="beam", beam_size=3, rerank=1.0)
    assert len(model.transfer(["a sentence ."], to="positive", strategy="beam", beam_size=3, rerank=1.0,
                              scorer=str(scorer))) == 1


def test_a_scorer_that_is_not_a_classifier_of_the_styles_is_refused(scorer, tiny_ibt_run, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("a sentence .\n")
    out = tmp_path / "out.txt"
    assert main(["transfer", "--model", str(tiny_ibt_run), "--to", "positive", "--input", str(src), "--output",
                 str(out), "--strategy", "beam", "--rerank", "1", "--scorer", str(tiny_ibt_run)]) == 2
    assert "not a classifier" in capsys.readouterr().err and not out.exists()
    assert main(["transfer", "--model", str(tiny_ibt_run), "--to", "positive", "--input", str(src), "--output",
                 str(out), "--strategy", "beam", "--beam", "3", "--rerank", "1", "--scorer", str(scorer)]) == 0
    assert len(out.read_text().splitlines()) == 1


def test_the_style_reward_asks_the_scorer(scorer, tiny_ibt_run, tmp_path, capsys):
    out = tmp_path / "tuned"
    overrides = IBT_TINY + ["train.max_steps=2", "train.log_every=1", f"train.init_from={tiny_ibt_run}",
                            "model.reward.weight.value=1", f"model.reward.scorer={scorer}"]
    train(load_recipe(IBT_RECIPE, overrides), out)
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["reward_style"] <= 1 for r in steps if r["split"] == "train")
    assert not any("scorer" in k for k in textvae.load(out, device="cpu").model.state_dict())
    bad = tmp_path / "bad"
    assert main(["train", IBT_RECIPE, "--out", str(bad), *overrides[:-1], f"model.reward.scorer={tiny_ibt_run}"]) == 2
    assert "not a classifier" in capsys.readouterr().err and not bad.exists()
