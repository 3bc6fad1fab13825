"""The factor corpus (issue 24): seven independent factors that the text realises, tags per
token, written next to a normal release-format corpus; and `textvae evaluate disentanglement`."""

import itertools
import json

import pytest

from textvae.cli import main
from textvae.data.factors import FACTORS, generate_factors, read_factors
from textvae.errors import TextvaeError


def test_every_factor_is_realised_in_the_text_and_every_combination_occurs():
    examples = generate_factors(20000, seed=0)
    names = list(FACTORS)
    combinations = {tuple(e.factors[n] for n in names) for e in examples}
    assert len(combinations) == len(list(itertools.product(*FACTORS.values())))  # all 288
    for e in examples[:2000]:
        words, f = e.text.split(), {n: FACTORS[n][v] for n, v in e.factors.items()}
        assert len(e.pos) == len(words)
        assert (words[-1] == "?") == (f["kind"] == "question")
        assert ("not" in words) == (f["negation"] == "negated")
        aux = words[0] if f["kind"] == "question" else words[2]
        assert aux == {("present", "singular"): "is", ("present", "plural"): "are", ("past", "singular"): "was",
                       ("past", "plural"): "were"}[(f["tense"], f["number"])]
        assert (f["intensity"] == "plain") == ("ADV" not in e.pos)
    for name, values in FACTORS.items():  # uniform within a few percent
        counts = [sum(e.factors[name] == v for e in examples) for v in range(len(values))]
        assert max(counts) / min(counts) < 1.1, (name, counts)


def test_the_corpus_command_and_the_metrics_command(tmp_path, capsys):
    from tests.conftest import TINY
    import os

    corpus = tmp_path / "factors"
    assert main(["data", "synthetic", "--factors", "--dest", str(corpus), "--train", "600", "--dev", "100",
                 "--test", "200"]) == 0
    texts, values, names = read_factors(corpus, "test")
    assert len(texts) == 200 and names == list(FACTORS) and len(values[0]) == 7
    assert sorted(texts) == sorted((corpus / "test.0").read_text().splitlines()
                                   + (corpus / "test.1").read_text().splitlines())
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_vae.yaml")
    run = tmp_path / "vae"
    assert main(["train", recipe, "--out", str(run), *TINY, "train.max_steps=5", f"data.path={corpus}"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "disentanglement", "--model", str(run), "--factors", "tense,kind"]) == 0
    out = capsys.readouterr().out
    assert "| mig | sap |" in out and "MIG per factor: tense" in out
    saved = json.loads((run / "model" / "eval_disentanglement_test.json").read_text())
    assert saved["factors"] == ["tense", "kind"] and 0 <= saved["mig"] <= 1 and "settings" in saved
    assert "| disentanglement | test |" in (run / "model" / "README.md").read_text()
    assert main(["evaluate", "disentanglement", "--model", str(run), "--factors", "colour", "--force"]) == 2
    assert "unknown factor 'colour'" in capsys.readouterr().err
    sentences = tmp_path / "s.txt"
    sentences.write_text("\n".join(texts[:3]) + "\n")
    assert main(["report", "traverse", "--model", str(run), "--sentences", str(sentences), "--dims", "0,1",
                 "--points", "3", "--factors", "--out", str(tmp_path / "trav")]) == 0
    report = json.loads((tmp_path / "trav" / "report.json").read_text())["data"]
    assert report["factor_view"]["dims"] == [0, 1] and len(report["factor_view"]["changed"][0]) == 7
    assert (tmp_path / "trav" / "factors.png").is_file()


def test_a_corpus_without_factor_labels_is_refused(tmp_path):
    with pytest.raises(TextvaeError, match="has no factor labels"):
        read_factors(tmp_path)


def test_factors_read_off_the_text_and_the_traversal_factor_view(tmp_path):
    from textvae.data.factors import read_off_factors
    from textvae.reports.latent_ops import factor_view

    for e in generate_factors(500, seed=3):
        assert read_off_factors(e.text) == e.factors
    traversal = {"sentence": "the pizza is good .", "dim": 0,
                 "sentences": ["the pizza is good .", "the pizzas are good .", "the pizzas are good .", "xx"]}
    still = {"sentence": "the pizza is good .", "dim": 1, "sentences": ["the pizza is good ."] * 3}
    view = factor_view([traversal, still], read_off_factors)
    row0, row1 = (dict(zip(view["factors"], row)) for row in view["changed"])
    assert row0["number"] == pytest.approx(1 / 3) and row0["tense"] == 0 and row0["sentiment"] == 0
    assert set(row1.values()) == {0.0}
