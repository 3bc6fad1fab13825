"""Multitask autoencoders (Brunner et al. 2018) and the syntactic-saliency evaluation."""

import os

import numpy as np
import pytest

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.factors import factor_splits
from textvae.data.synthetic_mt import to_pivot
from textvae.data.tags import TAG_IDS, UPOS, factor_lexicon, tag_sentence
from textvae.evaluation.syntax import purity, syntactic_saliency
from textvae.training import train

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "factors_multitask.yaml")
SMALL = ["model.embedding_dim=32", "model.encoder.hidden_size=64", "model.decoder.hidden_size=64",
         "model.latent.dim=16", "train.max_minutes=null", "train.threads=1", "train.log_every=20"]


def test_the_factor_lexicon_gives_the_generators_tags():
    lexicon = factor_lexicon()
    for example in factor_splits(200, 10, 10)["train"]:
        assert tag_sentence(example.text.split(), lexicon) == example.pos
    assert set(lexicon.values()) <= set(UPOS)


def test_codes_that_follow_templates_score_near_one_and_random_codes_near_chance():
    rng = np.random.default_rng(0)
    templates = [("A",), ("B", "C"), ("D",), ("E", "F")] * 100
    centres = rng.standard_normal((4, 8)) * 5
    ids = [i % 4 for i in range(len(templates))]
    built = centres[ids] + rng.standard_normal((len(ids), 8)) * 0.1
    good = syntactic_saliency(built, templates)
    assert good["kmeans_purity"] > 0.99 and good["ward_ari"] > 0.99 and good["neighbour_agreement"] > 0.99
    bad = syntactic_saliency(rng.standard_normal((len(ids), 8)), templates)
    assert bad["kmeans_purity"] < 0.4 and abs(bad["kmeans_ari"]) < 0.05 and bad["neighbour_agreement"] < 0.35
    assert purity([0, 0, 1, 1], [5, 5, 5, 6]) == 0.75


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("multitask") / "run"
    train(load_recipe(RECIPE, SMALL + ["data.path=factors:3000", "train.max_steps=300", "train.eval_every=300",
                                       "train.checkpoint_every=300"]), out)
    return out


def test_each_decoder_learns_and_the_pos_decoder_writes_the_tags(trained):
    import json

    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in records if r.get("split") == "train"]
    for key in ("rec", "pos_nll", "translation_nll"):
        assert train_rows[-1][key] < 0.5 * train_rows[0][key], key
    model = textvae.load(trained, device="cpu")
    test = factor_splits(3000)["test"][:100]
    codes = model.encode([e.text for e in test])
    tags = model.model.decode_task(codes, "pos", max_len=12).tolist()
    names = {i: t for t, i in TAG_IDS.items()}
    right = sum(tuple(names[i] for i in row[:len(e.pos)]) == e.pos for row, e in zip(tags, test))
    assert right >= 80, right
    # the translation targets are exactly the pivot sentences (English ids in the pivot's word order)
    from textvae.data.batching import collate
    from textvae.data.synthetic_mt import pivot_word

    batch = collate(model.tokenizer.encode([e.text for e in test]))
    _, target = model.model.task_targets(batch, "translation")
    words = [[model.tokenizer.id_to_piece(i).lstrip("\u2581") for i in row[:n]] for row, n in
             zip(target.tolist(), batch.lengths.tolist())]
    assert all(" ".join(pivot_word(w) for w in row) == to_pivot(e.text) for row, e in zip(words, test))
    pivot = model.model.decode_task(codes, "translation", max_len=12)[:, :batch.src.size(1)]
    shown = target[:, :pivot.size(1)] != 0
    assert (pivot[:, :target.size(1)] == target[:, :pivot.size(1)])[shown].float().mean() > 0.4


def test_evaluate_syntax_scores_a_trained_model(trained, tmp_path, capsys):
    assert main(["evaluate", "syntax", "--model", str(trained), "--max-sentences", "300",
                 "--output", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "templates over 300 sentences" in out and "kmeans_purity" in out


def test_bad_multitask_input_is_one_line(tmp_path, capsys):
    assert main(["train", RECIPE, "--out", str(tmp_path / "a"), "model.pos_tags=null", "train.max_steps=1"]) == 2
    assert "the POS decoder needs tags" in capsys.readouterr().err
    assert main(["train", RECIPE, "--out", str(tmp_path / "b"), "tokenizer.type=unigram", "tokenizer.vocab_size=60",
                 "data.path=factors:300", "train.max_steps=1", *SMALL]) == 2
    assert "one token per word" in capsys.readouterr().err
    assert main(["train", RECIPE, "--out", str(tmp_path / "c"), f"model.pos_tags={tmp_path / 'none.tsv'}",
                 "data.path=factors:300", "train.max_steps=1", *SMALL]) == 2
    assert "POS lexicon" in capsys.readouterr().err
