"""Model cards (issue 22): every saved model directory has a README.md that says what the model
is and how it was trained, and gains each evaluation run on it; a model directory laid out in a
local Hugging Face hub cache loads as ``hf://OWNER/NAME`` offline."""

import json
import shutil

import pytest

import textvae
from textvae.cli import main
from textvae.training import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import TINY
    from textvae.config import load_recipe
    import os

    out = tmp_path_factory.mktemp("card") / "run"
    train(load_recipe(os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_vae.yaml"),
                      TINY + ["train.max_steps=8"]), out)
    return out


def test_card_is_written_with_the_model_and_updated_by_evaluations(run, capsys):
    card = (run / "model" / "README.md").read_text()
    meta = json.loads((run / "model" / "config.json").read_text())
    assert card.startswith("---\nlibrary_name: textvae\n")
    for text in ("# synthetic_vae", "A textvae `seq2seq` model", meta["stats"]["corpus_fingerprint"],
                 "steps: 8", f"precision: {meta['stats']['precision']}", "## Intended use and limits",
                 "None recorded yet"):
        assert text in card, text
    assert not (run / "checkpoint" / "README.md").exists()  # a checkpoint is for resuming, not for use
    for _ in range(2):  # the same evaluation again replaces its row
        assert main(["evaluate", "vae", "--model", str(run), "--samples", "2", "--max-sentences", "20",
                     "--force"]) == 0
    card = (run / "model" / "README.md").read_text()
    rows = [line for line in card.splitlines() if line.startswith("| 20")]
    assert len(rows) == 1 and "| vae | test | nll " in rows[0] and "sentences 20" in rows[0]
    evaluations = json.loads((run / "model" / "evaluations.json").read_text())
    assert evaluations[0]["scores"]["nll"] == pytest.approx(
        json.loads((run / "model" / "eval_vae_test.json").read_text())["nll"], abs=1e-4)


def test_loads_from_a_local_hub_cache_offline(run, tmp_path, monkeypatch):
    import huggingface_hub.constants as hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--someone--tiny-vae"
    shutil.copytree(run / "model", repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    model = textvae.load("hf://someone/tiny-vae", device="cpu")
    local = textvae.load(run, device="cpu")
    assert model.reconstruct(["the food was good ."]) == local.reconstruct(["the food was good ."])
    assert main(["reconstruct", "--model", "hf://someone/missing", "--input", str(tmp_path / "none")]) == 2
    assert main(["reconstruct", "--model", "hf://not-a-repo", "--input", str(tmp_path / "none")]) == 2
