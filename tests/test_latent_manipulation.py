"""Latent manipulation (issue 25): codes move towards the target style's reference codes, any model
with a code transfers through `textvae transfer --method traverse`, bad input is one line."""

import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.errors import TextvaeError
from textvae.transfer.latent_manipulation import move_codes

from tests.conftest import TINY


def test_codes_move_towards_the_target_set_and_away_from_their_own():
    torch.manual_seed(0)
    refs = {0: torch.randn(200, 4) - 2.0, 1: torch.randn(200, 4) + 2.0}
    start = torch.randn(10, 4) - 2.0  # sentences of style 0
    path = move_codes(start, 1, refs, steps=40, step_size=0.2)
    assert len(path) == 41 and torch.equal(path[0], start)
    before = torch.cdist(path[0], refs[1]).mean()
    after = torch.cdist(path[-1], refs[1]).mean()
    assert after < 0.6 * before
    assert torch.equal(move_codes(start, 1, refs, steps=0)[-1], start)
    with pytest.raises(TextvaeError, match="step_size positive"):
        move_codes(start, 1, refs, steps=5, step_size=0)


def test_any_model_with_a_code_transfers_through_the_command(tmp_path, capsys):
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    run = tmp_path / "ae"
    assert main(["train", recipe, "--out", str(run), *TINY, "train.max_steps=5"]) == 0
    source = tmp_path / "in.txt"
    source.write_text("the food was great .\n\nthe staff is rude .\n")
    capsys.readouterr()
    assert main(["transfer", "--model", str(run), "--to", "negative", "--method", "traverse", "--steps", "5",
                 "--input", str(source)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1] == ""
    model = textvae.load(run, device="cpu")
    assert isinstance(model.manipulate("the food was great .", "negative", steps=3), str)
    for extra, message in ((["--steps", "-1"], "--steps: expected an integer at least 0"),
                           (["--step-size=-1"], "--step-size: expected a number above 0"),
                           (["--step-size", "nan"], "finite")):
        assert main(["transfer", "--model", str(run), "--to", "negative", "--method", "traverse", *extra,
                     "--input", str(source)]) == 2
        assert message in capsys.readouterr().err
