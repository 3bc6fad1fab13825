"""``train.init_from`` (issues 23 and 26): a run starts from a trained model's weights (all of them
or the parts named) and its tokenizer; what cannot be copied is refused in one line before the
run directory is made."""

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.training import train

from tests.conftest import IBT_RECIPE as RECIPE, IBT_TINY as TINY


@pytest.fixture
def source(tiny_ibt_run):
    return tiny_ibt_run


def _state(path):
    return textvae.load(path, device="cpu").model.state_dict()


def test_all_parts_and_the_tokenizer_come_from_the_source(source, tmp_path):
    out = tmp_path / "all"
    train(load_recipe(RECIPE, TINY + ["train.max_steps=1", "train.lr=0", f"train.init_from={source}",
                                      "data.path=synthetic:300"]), out)  # another corpus: the source's tokenizer
    a, b = _state(source), _state(out)
    # every tensor, but the style classifier's (it trains with its own optimizer and learning rate)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if not k.startswith("classifier."))
    assert any(k.startswith("classifier.") for k in a)
    assert (out / "model" / "tokenizer.model").read_bytes() == (source / "model" / "tokenizer.model").read_bytes()


def test_only_the_parts_named_are_copied(source, tmp_path):
    out = tmp_path / "encoder"
    train(load_recipe(RECIPE, TINY + ["train.max_steps=1", "train.lr=0", f"train.init_from={source}",
                                      "train.init_parts=[encoder]"]), out)
    a, b = _state(source), _state(out)
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("encoder."))
    assert not torch.equal(a["styles.weight"], b["styles.weight"])  # not copied: the new run's own initialisation


@pytest.mark.parametrize("overrides, message", [
    (["train.init_from=MISSING"], "does not exist"),
    (["train.init_parts=[nope]"], "has no part 'nope'; its parts are"),
    (["train.init_parts=[encoder]", "model.encoder.hidden_size=24"], "in this model; use the same sizes"),
    (["train.init_parts=[]"], "train.init_parts"),
])
def test_what_cannot_be_copied_is_refused_before_the_run_directory(source, tmp_path, capsys, overrides, message):
    out = tmp_path / "bad"
    args = [f"train.init_from={source}"] + [o.replace("MISSING", str(tmp_path / "none")) for o in overrides]
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=1", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
