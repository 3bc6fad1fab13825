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
