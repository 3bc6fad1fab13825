"""``textvae tune`` and the model's own transfer defaults (issue 22): the tuned setting is what
``textvae transfer`` uses with no option, an option overrides it, and the tuning table's figures
are those of transferring with the chosen setting."""

import json
import os

import pytest

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.errors import TextvaeError
from textvae.evaluation.transfer_dev import DevSample
from textvae.training import train
from textvae.modeldir import TRANSFER_DEFAULTS_FILE as DEFAULTS_FILE
from textvae.transfer.defaults import resolve
from textvae.transfer.tune import TuneGrid, TuneRule, tune

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ibt_gru.yaml")
TINY = ["data.path=synthetic:2000", "train.max_minutes=null", "train.max_steps=120", "train.eval_every=120",
        "train.checkpoint_every=120", "train.eval_max_sentences=50", "train.eval_transfer_sentences=40",
        "model.embedding_dim=32", "model.encoder.hidden_size=32", "model.decoder.hidden_size=64", "train.lr=0.003"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "run"
    train(load_recipe(RECIPE, TINY + ["transfer.strength=1.0", "transfer.length_penalty=0.5"]), out)
    return out


def test_recipe_defaults_then_tuned_defaults_then_options(run, capsys):
    model = textvae.load(run, device="cpu")
    assert model.transfer_defaults == {"strength": 1.0, "length_penalty": 0.5}
    assert model.transfer_defaults_source == "the recipe"
    # tune writes the chosen setting next to the weights; the table is printed
    assert main(["tune", "--model", str(run), "--no-fluency", "--beam", "0,3", "--rerank", "0,1", "--cycle", "0,2",
                 "--min-accuracy", "0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "**chosen**" in printed and "rule: most dev self-BLEU" in printed
    record = json.loads((run / "model" / DEFAULTS_FILE).read_text())
    assert len(record["rows"]) == 5 and record["split"] == "dev" and record["sentences"] == 40
    best = max(record["rows"], key=lambda r: (r["self_bleu"], r["accuracy"]))
    assert record["dev"]["self_bleu"] == best["self_bleu"]
    tuned = textvae.load(run, device="cpu")
    assert tuned.transfer_defaults["strategy"] == record["settings"]["strategy"]
    assert tuned.transfer_defaults["length_penalty"] == 0.5  # the recipe's key that tune leaves alone
    assert "tuned on dev" in repr(tuned)
    # what tune measured is what transfer with no option gives, and an option overrides it
    corpus = load_corpus(tuned.config.data.path)
    sample = DevSample(corpus, tuned.config.seed, 40)
    default = sample.transfer(lambda sources, to: tuned.transfer(sources, to))
    assert sample.score(default)["transfer_self_bleu"] == pytest.approx(record["dev"]["self_bleu"])
    greedy = sample.transfer(lambda sources, to: tuned.transfer(sources, to, strategy="greedy"))
    plain = sample.transfer(lambda sources, to: tuned.transfer(sources, to, strategy="greedy", length_penalty=1.0))
    assert greedy == plain  # greedy ignores the defaults' beam settings
    if record["settings"]["strategy"] == "beam":
        explicit = sample.transfer(lambda sources, to: tuned.transfer(
            sources, to, strategy="beam", beam_size=record["settings"]["beam_size"], rerank=record["settings"]["rerank"],
            rerank_cycle=record["settings"]["rerank_cycle"], length_penalty=0.5))
        assert explicit == default


def test_every_reranked_row_equals_transferring_with_its_setting(run):
    model = textvae.load(run, device="cpu")
    sample = DevSample(load_corpus(model.config.data.path), model.config.seed, 30)
    result = tune(model, sample, TuneGrid(beams=(3,), rerank=(0.0, 2.0), cycle=(0.0, 3.0)))
    for row in result["rows"]:
        outputs = sample.transfer(lambda sources, to: model.transfer(
            sources, to, strategy="beam", beam_size=3, rerank=row["rerank"], rerank_cycle=row["cycle"], rerank_lm=0.0,
            length_penalty=0.5))
        assert sample.score(outputs)["transfer_self_bleu"] == pytest.approx(row["self_bleu"])


def test_rows_with_sampled_candidates_equal_transferring_with_their_setting(run):
    model = textvae.load(run, device="cpu")
    sample = DevSample(load_corpus(model.config.data.path), model.config.seed, 30)
    result = tune(model, sample, TuneGrid(beams=(3,), rerank=(2.0,), cycle=(0.0, 3.0), samples=(0, 2, 5)), top_p=0.9)
    assert sorted({r["samples"] for r in result["rows"]}) == [0, 2, 5] and len(result["rows"]) == 6
    # without a reranking weight there are no sampled rows (nothing would choose among them)
    assert TuneGrid(beams=(3,), rerank=(0.0, 2.0), samples=(0, 4)).size() == 3
    for row in result["rows"]:
        outputs = sample.transfer(lambda sources, to: model.transfer(
            sources, to, strategy="beam", beam_size=3, samples=row["samples"], top_p=0.9, rerank=row["rerank"],
            rerank_cycle=row["cycle"], rerank_lm=0.0, length_penalty=0.5))
        assert sample.score(outputs)["transfer_self_bleu"] == pytest.approx(row["self_bleu"])
    with pytest.raises(TextvaeError, match="samples adds sampled candidates for reranking"):
        model.transfer(["the food was good ."], to="negative", strategy="beam", samples=2, rerank=0.0,
                       rerank_cycle=0.0, rerank_lm=0.0)


def test_pooled_rows_rerank_the_union_of_strengths_and_equal_transferring_with_their_setting(run, tmp_path):
    model = textvae.load(run, device="cpu")
    sample = DevSample(load_corpus(model.config.data.path), model.config.seed, 30)
    grid = TuneGrid(strengths=(1.0, 2.0), beams=(3,), rerank=(2.0,), cycle=(0.0, 3.0), pool=True)
    result = tune(model, sample, grid)
    pooled = [r for r in result["rows"] if r.get("pool_strengths")]
    assert grid.size() == len(result["rows"]) == 6 and len(pooled) == 2
    assert all(r["strength"] == 1.0 and r["pool_strengths"] == [2.0] for r in pooled)
    for row in pooled:
        outputs = sample.transfer(lambda sources, to: model.transfer(
            sources, to, strategy="beam", beam_size=3, strength=1.0, pool_strengths=[2.0], rerank=row["rerank"],
            rerank_cycle=row["cycle"], rerank_lm=0.0, length_penalty=0.5))
        assert sample.score(outputs)["transfer_self_bleu"] == pytest.approx(row["self_bleu"])
    # the pool holds both strengths' beams, the first strength's first, and reranking picks from all of them
    from textvae.transfer.batch import transfer_candidates

    def candidates(**kwargs):
        return transfer_candidates(model.model, model.tokenizer, model.label_names, ["the food was good ."],
                                   "negative", model.batches, 3, style=True, length_penalty=0.5, **kwargs)[0]

    plain, guided, union = candidates(strength=1.0), candidates(strength=2.0), candidates(pool_strengths=[2.0])
    assert union[0] == plain[0] + guided[0]
    assert union[1].tolist() == pytest.approx(plain[1].tolist() + guided[1].tolist())
    best = model.transfer(["the food was good ."], to="negative", strategy="beam", beam_size=3, pool_strengths=[2.0],
                          rerank=2.0, rerank_cycle=0.0, rerank_lm=0.0, length_penalty=0.5)[0]
    totals = union[1] + 2.0 * union[2]["style"]
    assert best == union[0][int(totals.argmax())]
    three = model.transfer(["the food was good ."], to="negative", strategy="beam", beam_size=3, n_best=3,
                           pool_strengths=[2.0, 1.0], rerank=2.0, rerank_cycle=0.0, rerank_lm=0.0)[0]
    assert len(set(three)) == len(three) and three[0] == best  # no sentence twice; strength 1 decoded once
    # the chosen pooled setting is stored with the model and is what transfer then uses
    from textvae.transfer.tune import format_table, row_settings

    assert "| 1 + 2 | beam 3 |" in format_table(result["rows"])
    assert row_settings(pooled[0], None)["pool_strengths"] == [2.0]


def test_pooled_strengths_need_reranking_and_a_model_with_a_strength(run, capsys, tmp_path):
    model = textvae.load(run, device="cpu")
    with pytest.raises(TextvaeError, match="pool_strengths adds candidates decoded at other strengths"):
        model.transfer(["the food was good ."], to="negative", strategy="beam", beam_size=3, pool_strengths=[2.0],
                       rerank=0.0, rerank_cycle=0.0, rerank_lm=0.0)
    assert main(["transfer", "--model", str(run), "--to", "negative", "--strategy", "beam", "--rerank", "0",
                 "--rerank-cycle", "0", "--pool-strengths", "1.5", "--input", str(tmp_path / "absent.txt")]) == 2
    assert "pool_strengths adds candidates decoded at other strengths" in capsys.readouterr().err  # before input
    assert main(["transfer", "--model", str(run), "--to", "negative", "--pool-strengths", "x"]) == 2
    source = tmp_path / "in.txt"
    source.write_text("the food was good .\n")
    assert main(["transfer", "--model", str(run), "--to", "negative", "--input", str(source),
                 "--pool-strengths", "none"]) == 0
    assert main(["tune", "--model", str(run), "--no-fluency", "--pool", "--beam", "0"]) == 2
    assert "pooled strengths (--pool) rerank the union" in capsys.readouterr().err
    assert main(["tune", "--model", str(run), "--no-fluency", "--pool", "--beam", "3", "--rerank", "1"]) == 2
    assert "give two strengths or more" in capsys.readouterr().err
    from types import SimpleNamespace

    from textvae.transfer.batch import check_pool

    with pytest.raises(TextvaeError, match="has no strength setting"):
        check_pool(SimpleNamespace(uses_strength=False), [1.1], True)
    tuned = {"strategy": "beam", "beam_size": 20, "rerank": 4.0, "pool_strengths": [1.1]}
    assert resolve(tuned, {})["pool_strengths"] == [1.1]
    assert resolve(tuned, {"strength": 1.0})["pool_strengths"] == [1.1]  # the defaults' own strength
    assert resolve(tuned, {"strategy": "greedy"})["pool_strengths"] == []  # dropped with the reranking
    assert resolve(tuned, {"strength": 0.0})["pool_strengths"] == []  # and with another strength
    assert resolve(tuned, {"pool_strengths": []})["pool_strengths"] == []
    with pytest.raises(TextvaeError, match="pool_strengths must be a list of strengths"):
        resolve(tuned, {"pool_strengths": 1.1})
    with pytest.raises(TextvaeError, match="pool_strengths"):
        resolve(tuned, {"strategy": "greedy", "pool_strengths": [1.2]})


def test_rule_and_resolution():
    rows = [{"accuracy": 95.0, "self_bleu": 10.0, "ppl_ratio": 1.0}, {"accuracy": 88.0, "self_bleu": 30.0, "ppl_ratio": 1.2},
            {"accuracy": 90.0, "self_bleu": 40.0, "ppl_ratio": 3.0}, {"accuracy": 60.0, "self_bleu": 70.0, "ppl_ratio": 1.0}]
    assert TuneRule(85, 1.5).choose(rows) == (rows[1], True)  # the 40-BLEU row is too disfluent
    assert TuneRule(85, None).choose(rows) == (rows[2], True)
    assert TuneRule(99, 1.5).choose(rows) == (rows[0], False)  # none qualifies: the most accurate
    tuned = {"strategy": "beam", "beam_size": 20, "rerank": 4.0, "rerank_lm": 5.0, "lm": "/lm"}
    assert resolve(tuned, {})["rerank"] == 4.0 and resolve(tuned, {})["lm"] == "/lm"
    greedy = resolve(tuned, {"strategy": "greedy"})
    assert greedy["rerank"] == greedy["rerank_lm"] == 0.0 and greedy["lm"] is None
    assert resolve(tuned, {"strategy": "greedy", "rerank": 1.0})["rerank"] == 1.0  # then transfer refuses it
    assert resolve({}, {"strength": None})["strength"] == 1.0
    drawn = {**tuned, "samples": 10}
    assert resolve(drawn, {})["samples"] == 10  # the defaults' sampled candidates go with their reranking
    assert resolve(drawn, {"strategy": "greedy"})["samples"] == 0
    assert resolve(drawn, {"rerank": 0.0, "rerank_lm": 0.0})["samples"] == 0
    with pytest.raises(TextvaeError, match="samples adds sampled candidates for reranking"):
        resolve(drawn, {"strategy": "greedy", "samples": 4})
    assert resolve({**drawn, "top_p": 0.9}, {"strategy": "greedy"})["top_p"] == 1.0  # it was the samples'
    assert resolve({"strategy": "sample", "top_p": 0.9}, {})["top_p"] == 0.9


def test_defaults_whose_lm_is_gone_fail_in_one_line(run, tmp_path):
    model = textvae.load(run, device="cpu")
    model.transfer_defaults = {"strategy": "beam", "beam_size": 3, "rerank_lm": 1.0, "lm": str(tmp_path / "gone")}
    with pytest.raises(TextvaeError, match="transfer defaults rerank with the language model .* --rerank-lm 0"):
        model.transfer(["the food was good ."], to="negative")
    assert model.transfer(["the food was good ."], to="negative", rerank_lm=0.0)


@pytest.mark.parametrize("argv, message", [
    (["--sentences", "0"], "--sentences: expected an integer at least 1"),
    (["--rerank", "-1"], "--rerank: expected a number at least 0"),
    (["--beam", "5,x"], "--beam: expected an integer"),
    (["--strength", "nan"], "finite"),
    (["--lm-weight", "1"], "needs a language model"),
    (["--split", "nope"], "invalid choice"),
    (["--samples", "4", "--rerank", "0", "--cycle", "0"], "sampled candidates (--samples) are for reranking"),
    (["--samples", "4", "--beam", "0", "--rerank", "1"], "join a beam's"),
    (["--samples", "-1"], "--samples: expected an integer at least 0"),
])
def test_tune_bad_input_exits_2_and_writes_nothing(run, capsys, argv, message):
    before = (run / "model" / DEFAULTS_FILE).read_text() if (run / "model" / DEFAULTS_FILE).exists() else None
    assert main(["tune", "--model", str(run), "--no-fluency", *argv]) == 2
    assert message in capsys.readouterr().err
    after = (run / "model" / DEFAULTS_FILE).read_text() if (run / "model" / DEFAULTS_FILE).exists() else None
    assert before == after


def test_transfer_refuses_non_finite_options(run, capsys):
    assert main(["transfer", "--model", str(run), "--to", "negative", "--strength", "inf"]) == 2
    assert "finite" in capsys.readouterr().err


def test_sampled_candidates_without_reranking_are_refused_in_one_line(run, capsys, tmp_path):
    assert main(["transfer", "--model", str(run), "--to", "negative", "--strategy", "greedy", "--samples", "3"]) == 2
    assert "it needs the beam strategy" in capsys.readouterr().err
    assert main(["transfer", "--model", str(run), "--to", "negative", "--strategy", "beam", "--samples", "3",
                 "--rerank", "0", "--rerank-cycle", "0", "--input", str(tmp_path / "absent.txt")]) == 2
    assert "samples adds sampled candidates for reranking" in capsys.readouterr().err  # before the input is read
    assert main(["reconstruct", "--model", str(run), "--samples", "3"]) == 2  # no such option outside transfer
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {os.path.abspath(RECIPE)}\ntransfer: {{strategy: beam, samples: 10}}\n")
    with pytest.raises(TextvaeError, match="'transfer.samples' adds sampled candidates for reranking"):
        load_recipe(str(recipe))


def test_long_commands_show_progress_on_a_terminal_only(run, tmp_path, capsys, monkeypatch):
    source = tmp_path / "in.txt"
    source.write_text("the food was good .\n\nthe staff is rude .\n")
    assert main(["transfer", "--model", str(run), "--to", "negative", "--input", str(source)]) == 0
    piped = capsys.readouterr()
    assert "sentence/s" not in piped.err  # not a terminal: no bar
    monkeypatch.setattr(__import__("sys").stderr, "isatty", lambda: True)
    assert main(["transfer", "--model", str(run), "--to", "negative", "--input", str(source)]) == 0
    shown = capsys.readouterr()
    assert shown.out == piped.out and "transfer: 100%" in shown.err and "sentence/s" in shown.err
    assert main(["transfer", "--model", str(run), "--to", "negative", "--input", str(source), "--quiet"]) == 0
    assert "sentence/s" not in capsys.readouterr().err
    assert main(["tune", "--model", str(run), "--no-fluency", "--beam", "0", "--no-write"]) == 0
    assert "setting/s" in capsys.readouterr().err


def test_the_interactive_session_starts_from_the_models_defaults(run, capsys, monkeypatch):
    import io

    from textvae.transfer.defaults import write_tuned

    write_tuned(run / "model", {"strength": 1.0, "strategy": "beam", "beam_size": 3, "rerank_cycle": 2.5}, {})
    model = textvae.load(run, device="cpu")
    monkeypatch.setattr("sys.stdin", io.StringIO(":help\nthe food was good .\n"))
    assert main(["transfer", "--model", str(run), "--interactive"]) == 0
    out = capsys.readouterr().out
    assert "(now 2.5)" in out  # the cycle weight the defaults set
    tuned = model.transfer(["the food was good ."], to="negative")[0]
    assert f"negative: {tuned}" in out
    # :pool adds another strength's beam to the reranked pool
    monkeypatch.setattr("sys.stdin", io.StringIO(":pool 2\n:help\nthe food was good .\n"))
    assert main(["transfer", "--model", str(run), "--interactive"]) == 0
    out = capsys.readouterr().out
    assert "also decoded at strength 2 for reranking" in out and "(now [2.0])" in out
    pooled = model.transfer(["the food was good ."], to="negative", pool_strengths=[2.0])[0]
    assert f"negative: {pooled}" in out
