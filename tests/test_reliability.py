"""Issue 27 (4-6): non-finite numbers, unreadable recipes, one-style corpora for style models and
bare strings in the Python API."""

import pytest

import textvae
from textvae.cli import main
from textvae.errors import TextvaeError

from tests.conftest import IBT_RECIPE

RECIPE = IBT_RECIPE


@pytest.mark.parametrize("override", ["train.lr=nan", "train.lr=inf", "model.cycle.soft_temperature=-inf",
                                      "train.max_minutes=nan"])
def test_non_finite_recipe_numbers_are_refused(override, tmp_path, capsys):
    assert main(["train", RECIPE, "--out", str(tmp_path / "run"), override]) == 2
    err = capsys.readouterr().err
    key = override.split("=")[0]
    assert f"recipe key '{key}'" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("option", ["--temperature", "--top-p", "--length-penalty", "--strength", "--rerank",
                                    "--rerank-cycle", "--rerank-lm"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_transfer_options_are_refused(tiny_ibt_run, option, value, capsys):
    assert main(["transfer", "--model", str(tiny_ibt_run), "--to", "negative", f"{option}={value}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "finite" in err


def test_unreadable_recipes_are_one_line(tmp_path, capsys):
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"\xff\xfe\x00binary")
    assert main(["train", str(binary)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
    assert main(["train", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_style_models_refuse_a_one_style_corpus(tmp_path, capsys):
    corpus = tmp_path / "one.tsv"
    corpus.write_text("text\tlabel\n" + "".join(f"the food was good number {i} .\tpositive\n" for i in range(50)))
    for recipe in ("synthetic_disentangled_vae", "synthetic_ibt_gru"):
        path = IBT_RECIPE.replace("synthetic_ibt_gru", recipe)
        assert main(["train", path, "--out", str(tmp_path / recipe), f"data.path={corpus}", "train.max_steps=1"]) == 2
        assert "2 or more styles" in capsys.readouterr().err and not (tmp_path / recipe).exists()


def test_a_bare_string_is_one_sentence(tiny_ibt_run):
    model = textvae.load(tiny_ibt_run, device="cpu")
    one = model.transfer("the food was good .", to="negative")
    assert isinstance(one, str) and one == model.transfer(["the food was good ."], to="negative")[0]
    with pytest.raises(TextvaeError, match="no latent code"):
        model.reconstruct("the food was good .")


def test_saved_weights_are_readable_by_others_as_the_rest_of_the_run(tiny_ibt_run):
    import stat

    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tiny_ibt_run / "model").iterdir()}
    assert modes["model.safetensors"] == modes["config.json"]


def _leaf_commands(parser, path=()):
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaf_commands(sub, path + (name,))


def _numeric_option_cases():
    from textvae.cli import build_parser

    for path, parser in _leaf_commands(build_parser()):
        required = [a for a in parser._actions if a.required or not a.option_strings]
        for action in parser._actions:
            if action.option_strings and action.type not in (None, str):
                for value in ("nan", "inf", "-1"):
                    yield pytest.param(path, [a.option_strings[0] if a.option_strings else a.dest for a in required],
                                       action.option_strings[0], value,
                                       id=f"{' '.join(path)} {action.option_strings[0]}={value}")


@pytest.mark.parametrize("path,required,option,value", list(_numeric_option_cases()))
def test_every_numeric_option_refuses_nan_inf_and_negatives(path, required, option, value, tiny_ibt_run, tmp_path,
                                                           capsys):
    """Fuzz over the whole CLI: every number option of every command, given NaN, infinity or -1,
    stops with exit 2, one line naming the option, no traceback and nothing written."""
    (tmp_path / "in.txt").write_text("the food was good .\n")
    (tmp_path / "pairs.tsv").write_text("the food was good .\tthe food was bad .\n")
    (tmp_path / "triples.tsv").write_text("a b .\tc d .\te f .\n")
    given = {"source": "synthetic:200", "--dest": tmp_path / "new", "dest": tmp_path / "new", "--model": tiny_ibt_run,
             "--out": tmp_path / "new", "--outputs": tmp_path / "in.txt", "--data": "synthetic:200",
             "--pairs": tmp_path / "pairs.tsv", "--triples": tmp_path / "triples.tsv", "--sentences": tmp_path / "in.txt",
             "recipe": IBT_RECIPE, "name": "yelp"}
    argv = list(path) + {("transfer",): ["--to", "positive"], ("evaluate", "transfer"): ["--direction", "positive"]}.get(
        path, [])
    for name in required:
        argv += [str(given[name])] if not name.startswith("-") else [name, str(given[name])]
    argv.append(f"{option}={value}")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert option.lstrip("-") in err.replace("_", "-") or option in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_messages_name_the_option_and_the_kind_of_path(tiny_ibt_run, tmp_path, capsys):
    """Issue 27 (7): a missing --triples file is named as --triples, not --input; --out that is a
    file is called a file, not an output directory."""
    assert main(["report", "arithmetic", "--model", str(tiny_ibt_run), "--triples", str(tmp_path / "none.tsv")]) == 2
    assert "--triples file" in capsys.readouterr().err
    assert main(["report", "interpolate", "--model", str(tiny_ibt_run), "--pairs", str(tmp_path)]) == 2
    assert "--pairs" in capsys.readouterr().err
    file = tmp_path / "a-file"
    file.write_text("mine\n")
    assert main(["train", RECIPE, "--out", str(file), "train.max_steps=1"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a directory" in err and "output directory" not in err
    assert file.read_text() == "mine\n"


def test_data_stats_says_a_one_label_corpus_cannot_train_style_models(tmp_path, capsys):
    corpus = tmp_path / "one.tsv"
    corpus.write_text("text\tlabel\n" + "".join(f"the food was good number {i} .\tpositive\n" for i in range(20)))
    assert main(["data", "stats", str(corpus)]) == 0
    assert "one label ('positive')" in capsys.readouterr().out
    assert main(["data", "stats", "synthetic:200"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_strength_on_a_model_without_a_strength_is_a_one_line_warning(tmp_path, caplog):
    import logging

    from textvae.config import load_recipe
    from textvae.models.arae.model import ARAE
    from textvae.training import train

    config = load_recipe(None, ["data.path=synthetic:200", "tokenizer.type=word", "tokenizer.vocab_size=200",
                                "model.type=arae", *ARAE.test_overrides, "train.max_steps=3",
                                "train.max_minutes=null", "train.eval_every=1000", "train.checkpoint_every=1000"])
    train(config, tmp_path / "arae")
    model = textvae.load(tmp_path / "arae", device="cpu")
    caplog.clear()  # the tiny training's own warnings
    with caplog.at_level(logging.WARNING, logger="textvae"):
        plain = model.transfer(["the food was good ."], to="negative")
        assert not caplog.records
        assert model.transfer(["the food was good ."], to="negative", strength=2.0) == plain
    assert len(caplog.records) == 1 and "has no effect" in caplog.records[0].getMessage()


def test_strength_guides_a_back_translation_model_without_a_warning(tiny_ibt_run, caplog):
    import logging

    model = textvae.load(tiny_ibt_run, device="cpu")
    sentences = ["the food was good .", "the staff is rude and slow ."]
    with caplog.at_level(logging.WARNING, logger="textvae"):
        assert model.transfer(sentences, to="negative", strength=0.0) == model.transfer(sentences, to="positive")
    assert not caplog.records
