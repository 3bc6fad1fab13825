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


@pytest.fixture(scope="module")
def trained_ae(tmp_path_factory):
    from textvae.config import load_recipe
    from textvae.training import train

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    out = tmp_path_factory.mktemp("traverse-ae") / "run"
    train(load_recipe(recipe, ["data.path=synthetic:3000", "train.max_steps=1000", "train.max_minutes=null",
                               "train.eval_every=1000", "train.checkpoint_every=1000", "model.embedding_dim=64",
                               "model.encoder.hidden_size=128", "model.decoder.hidden_size=128", "model.latent.dim=16",
                               "train.threads=1"]), out)
    return out


@pytest.mark.slow
def test_moving_a_trained_autoencoders_codes_flips_the_style_word_and_keeps_the_noun(trained_ae, tmp_path):
    import json

    from textvae.data.synthetic import synthetic_splits
    from tests.data.test_synthetic import NEGATIVE, POSITIVE

    model = textvae.load(trained_ae, device="cpu")
    test = [e for e in synthetic_splits(n_train=10, n_dev=10, n_test=300, seed=0)["test"] if e.label == 0][:40]
    moved = model.manipulate([e.text for e in test], "positive", steps=40, step_size=0.5)
    flipped = sum(bool(set(o.split()) & POSITIVE) and not set(o.split()) & NEGATIVE for o in moved)
    kept = sum(all(n in o.split() for n in e.nouns) for o, e in zip(moved, test))
    assert flipped >= 20 and kept >= 15, (flipped, kept, moved[:5])  # of 40; unmoved: 0 flipped
    source = tmp_path / "negative.txt"
    source.write_text("".join(e.text + "\n" for e in test[:10]))
    out = tmp_path / "report"
    assert main(["report", "traverse", "--model", str(trained_ae), "--sentences", str(source), "--between", "negative",
                 "positive", "--steps", "40", "--step-size", "0.5", "--every", "10", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())["data"]["trajectories"]
    assert len(data) == 10 and [p["step"] for p in data[0]["points"]] == [0, 10, 20, 30, 40]
    start = sum(d["points"][0]["target_probability"] for d in data) / 10
    end = sum(d["points"][-1]["target_probability"] for d in data) / 10
    assert end > start + 0.3 and (out / "trajectory.png").is_file()
    assert all(d["points"][-1]["distance"] > d["points"][1]["distance"] > 0 for d in data)


def test_trajectory_report_refuses_an_unknown_style_before_any_work(tmp_path, capsys):
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    assert main(["train", recipe, "--out", str(tmp_path / "ae"), *TINY, "train.max_steps=2"]) == 0
    source = tmp_path / "in.txt"
    source.write_text("the food was bad .\n")
    assert main(["report", "traverse", "--model", str(tmp_path / "ae"), "--sentences", str(source), "--between",
                 "negative", "happy", "--out", str(tmp_path / "r")]) == 2
    assert "unknown style 'happy'" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_the_interactive_session_moves_codes_with_method_traverse(tmp_path):
    import io

    from textvae.transfer.interactive import run_interactive

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    assert main(["train", recipe, "--out", str(tmp_path / "ae"), *TINY, "train.max_steps=2"]) == 0
    model = textvae.load(tmp_path / "ae", device="cpu")
    stdin, stdout = io.StringIO("the food was bad .\n:steps 3\n:step -1\nthe food was bad .\n"), io.StringIO()
    traverse = {"steps": 5, "step_size": 0.1, "stay": 0.01, "reference": None}
    assert run_interactive(model, {"strategy": "greedy"}, stdin=stdin, stdout=stdout, traverse=traverse) == 0
    lines = stdout.getvalue().splitlines()
    expected = model.manipulate(["the food was bad ."], "positive", steps=5)[0]
    assert any(line.strip().startswith(f"positive: {expected}") for line in lines[:3])  # (and the judge, if cached)
    assert "steps 3" in lines and any("expected a positive number" in line for line in lines)
    assert model.manipulate(["the food was bad ."], "positive", steps=3)[0] in lines[-1]
