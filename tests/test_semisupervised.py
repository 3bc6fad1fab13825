"""Few-label evaluation of codes (issue 26): balanced seeded draws, accuracy that grows with the
labels on separable codes, the command's table, JSON, plot and bad input."""

import json
import os

import numpy as np
import pytest

from textvae.cli import main
from textvae.errors import TextvaeError
from textvae.evaluation.semisupervised import balanced_draw, few_label_accuracy


def test_draws_are_balanced_and_seeded():
    labels = [0] * 70 + [1] * 30
    rows = balanced_draw(labels, 20, seed=1)
    assert sorted(labels[i] for i in rows) == [0] * 10 + [1] * 10
    assert rows == balanced_draw(labels, 20, seed=1) and rows != balanced_draw(labels, 20, seed=2)
    with pytest.raises(TextvaeError, match="cannot cover"):
        balanced_draw(labels, 1, seed=0)


def test_accuracy_grows_with_labels_on_separable_codes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    codes = labels[:, None] * 1.5 + rng.standard_normal((3000, 4))
    result = few_label_accuracy(lambda rows: codes[rows], labels.tolist(), codes[:500], labels[:500].tolist(),
                                [4, 100, 1000], draws=3)
    assert result[1000]["mean"] > 85 and result[1000]["mean"] >= result[4]["mean"]
    assert result[100]["draws"] == 3 and result[4]["std"] >= 0


def test_the_command(tmp_path, capsys):
    from tests.conftest import TINY

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    run = tmp_path / "ae"
    assert main(["train", recipe, "--out", str(run), *TINY, "train.max_steps=5"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "semisupervised", "--model", str(run), "--labels", "10,40", "--draws", "2",
                 "--output", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png")]) == 0
    out = capsys.readouterr().out
    assert "| 10 labels | 40 labels |" in out and (tmp_path / "s.png").is_file()
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["labels"] == [10, 40] and set(saved["results"][str(run)]) == {"10", "40"}
    assert "| semisupervised | test |" in (run / "model" / "README.md").read_text()
    assert main(["evaluate", "semisupervised", "--model", str(run), "--labels", "99999999"]) == 2
    assert "the training split has" in capsys.readouterr().err
    assert main(["evaluate", "semisupervised", "--model", str(run), "--classifier", "svm"]) == 2
