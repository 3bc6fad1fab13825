"""The README's quickstart, end to end (slow: about three minutes on two CPU cores)."""

import json
import os

import pytest

from textvae.cli import main

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")


@pytest.mark.slow
def test_quickstart_reconstructs_held_out_sentences(tmp_path):
    out = tmp_path / "run"
    assert main(["train", RECIPE, "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["elapsed"] < 180
    assert result["dev"]["recon_acc"] >= 0.90
