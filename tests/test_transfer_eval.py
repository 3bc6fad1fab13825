"""The style-transfer evaluation suite on a synthetic corpus with ground-truth transfers."""

import json

import pytest

from textvae.cli import main
from textvae.data.corpus import load_corpus
from textvae.data.synthetic import write_synthetic_corpus
from textvae.evaluation.fluency import FluencySettings
from textvae.evaluation.transfer import Direction, TransferEvaluator
from textvae.training import train

TINY_LM = FluencySettings(vocab_size=300, embedding_dim=32, hidden_size=64, steps=60, max_sentences=64)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return write_synthetic_corpus(tmp_path_factory.mktemp("synthetic") / "corpus", n_train=3000, n_dev=200,
                                  n_test=100)


@pytest.fixture(scope="module")
def evaluator(corpus_dir, tmp_path_factory):
    return TransferEvaluator(load_corpus(str(corpus_dir)), fluency_settings=TINY_LM,
                             cache_dir=tmp_path_factory.mktemp("eval-cache"), progress=lambda m: None, train_lm=train)


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _directions(corpus_dir, outputs_for, refs=True):
    return [Direction(a, 1 - a, _lines(corpus_dir / f"test.{a}"), outputs_for(a),
                      [_lines(corpus_dir / f"reference.test.{a}")] if refs else [])
            for a in (0, 1)]


def test_judge_separates_the_synthetic_corpus(evaluator, corpus_dir):
    corpus = evaluator.corpus
    assert evaluator.judge.accuracy(corpus.texts("test"), corpus.labels("test")) == 1.0
    assert evaluator.judge.dev_accuracy == 1.0


def test_copying_the_source_keeps_content_but_not_style(evaluator, corpus_dir):
    result = evaluator.evaluate(_directions(corpus_dir, lambda a: _lines(corpus_dir / f"test.{a}")))
    for row in result["directions"].values():
        assert row["accuracy"] <= 0.05
        assert row["self_bleu"] == pytest.approx(100.0)
        assert row["similarity"] == pytest.approx(1.0, abs=1e-5) and row["overlap"] == 1.0
        assert row["ppl"] == pytest.approx(row["source_ppl"])
        assert row["ngram_ppl"] == pytest.approx(row["source_ngram_ppl"]) and row["ngram_ppl"] > 1
    assert set(result["directions"]) == {"negative->positive", "positive->negative", "overall"}
    assert "tok:none" in result["bleu_signature"]


def test_ground_truth_transfers_score_well_and_the_same_twice(evaluator, corpus_dir):
    truth = _directions(corpus_dir, lambda a: _lines(corpus_dir / f"reference.test.{a}"))
    first = evaluator.evaluate(truth)
    overall = first["directions"]["overall"]
    assert overall["accuracy"] == 1.0 and overall["ref_bleu"] == pytest.approx(100.0)
    assert 0 < overall["self_bleu"] < 100
    assert overall["similarity"] > 0.99  # only style words changed, and those are removed
    assert overall["gm"] == pytest.approx(100.0) and overall["mean"] > 50
    assert evaluator.evaluate(truth) == first


def test_multi_reference_bleu_is_at_least_single_reference(evaluator, corpus_dir):
    copy = lambda a: _lines(corpus_dir / f"test.{a}")  # noqa: E731
    single = evaluator.score(copy(0), copy(0)[::-1], 1, [_lines(corpus_dir / "reference.test.0")])
    multi = evaluator.score(copy(0), copy(0)[::-1], 1, [_lines(corpus_dir / "reference.test.0"), copy(0)])
    assert multi["ref_bleu"] >= single["ref_bleu"]


def test_cased_detokenised_outputs_are_normalised(evaluator, corpus_dir):
    sources = _lines(corpus_dir / "test.0")[:20]
    cased = [s.capitalize().replace(" .", ".") for s in sources]
    assert evaluator.score(sources, cased, 1)["self_bleu"] == pytest.approx(100.0)


def test_evaluate_transfer_command(corpus_dir, tmp_path, capsys):
    out = tmp_path / "copy"
    for a in (0, 1):
        (tmp_path / f"copy.{a}").write_text((corpus_dir / f"test.{a}").read_text())
    args = ["evaluate", "transfer", "--data", str(corpus_dir), "--outputs", str(out), "--fluency-steps", "20",
            "--references", str(corpus_dir / "reference.test"), "--legacy-bleu"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| negative->positive |" in printed and "fastText" in printed and "ref-BLEU" in printed
    saved = json.loads((tmp_path / "copy.scores.json").read_text())
    assert saved["directions"]["overall"]["self_bleu"] == pytest.approx(100.0)
    assert saved["directions"]["overall"]["legacy_self_bleu"] == pytest.approx(100.0)
    assert main(args) == 2  # the scores exist: not overwritten without --force
    assert main(args + ["--force", "--format", "csv", "--direction", "positive->negative"]) == 0
    assert capsys.readouterr().out.startswith("direction,n,accuracy")


@pytest.mark.parametrize("setup, args, message", [
    (lambda d: (d / "o.0").write_text("one line\n"), [], "has 1 lines but the test split has 50"),
    (lambda d: (d / "o.0").write_text(""), [], "is empty"),
    (lambda d: None, [], "outputs file"),
    (lambda d: None, ["--direction", "0->sarcastic"], "unknown style 'sarcastic'"),
    (lambda d: None, ["--direction", "0-1"], "not of the form SOURCE->TARGET"),
    (lambda d: None, ["--references", "missing/ref"], "references file"),
])
def test_evaluate_transfer_bad_input(corpus_dir, tmp_path, capsys, setup, args, message):
    for a in (0, 1):
        (tmp_path / f"o.{a}").write_text((corpus_dir / f"test.{a}").read_text())
    if message == "outputs file":
        (tmp_path / "o.1").unlink()
    setup(tmp_path)
    code = main(["evaluate", "transfer", "--data", str(corpus_dir), "--outputs", str(tmp_path / "o"),
                 "--fluency-steps", "20", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_transformers_judge_lm_and_sentence_encoder(tiny_models, corpus_dir, tmp_path):
    """Local transformers models plug in as judge, fluency LM and similarity model."""
    evaluator = TransferEvaluator(load_corpus(str(corpus_dir)), judge=str(tiny_models / "bert-classifier"),
                                  fluency_lm=str(tiny_models / "gpt"), similarity_model=str(tiny_models / "bert"),
                                  cache_dir=tmp_path, progress=lambda m: None)
    # the classifier's labels are matched by name, whatever its column order
    assert evaluator.judge.columns == [1, 0]
    assert 0.0 <= evaluator.judge.dev_accuracy <= 1.0
    sources = _lines(corpus_dir / "test.0")[:8]
    row = evaluator.score(sources, sources, 1)
    assert row["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert 1 < row["ppl"] == pytest.approx(row["source_ppl"])
    assert "gpt" in evaluator.describe()["fluency_lm"] and "transformers" in evaluator.describe()["judge"]
    with pytest.raises(Exception, match="does not exist"):
        TransferEvaluator(evaluator.corpus, judge=str(tmp_path / "nope"), cache_dir=tmp_path)
