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
    capsys.readouterr()
    assert main(["evaluate", "semisupervised", "--model", str(run), "--part", "style"]) == 2
    assert "style/content split latent" in capsys.readouterr().err


def test_m1m2_loss_enumerates_every_label(monkeypatch):
    """The unlabelled part is the bound under each label weighted by q(y|x), minus q's entropy."""
    import torch

    from textvae.evaluation.m1m2 import StackedM2

    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)  # z2 = its mean: bounds are deterministic
    torch.manual_seed(0)
    model = StackedM2(dim=6, classes=3, latent=2, hidden=8)
    labelled, labels, unlabelled = torch.randn(4, 6), torch.tensor([0, 2, 1, 1]), torch.randn(5, 6)
    q = model.classify(unlabelled).softmax(-1)
    bounds = torch.stack([model.negative_bound(unlabelled, torch.full((5,), k)) for k in range(3)], -1)
    expected_u = ((q * bounds).sum(-1) + (q * q.log()).sum(-1)).mean()
    expected_l = (model.negative_bound(labelled, labels).mean()
                  + 2.0 * torch.nn.functional.cross_entropy(model.classify(labelled), labels))
    assert torch.allclose(model.loss(labelled, labels, unlabelled, alpha=2.0), expected_l + expected_u, atol=1e-5)


def test_m1m2_learns_from_unlabelled_codes():
    """Two clusters and loud noise dimensions: with 10 labels a probe is misled by the noise, while
    M2 on the codes finds the gap between the clusters from the unlabelled ones."""
    from textvae.evaluation.m1m2 import m1m2_accuracy
    from textvae.evaluation.semisupervised import fit_and_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    codes = rng.standard_normal((3000, 8))
    codes[:, 0] += (2 * labels - 1) * 2.0
    codes[:, 1:4] *= 3
    pool, test, test_y = codes[:2500], codes[2500:], labels[2500:].tolist()
    m1m2, probe = [], []
    for draw in range(3):
        rows = balanced_draw(labels[:2500].tolist(), 10, draw)
        train_x, train_y = codes[rows], labels[rows].tolist()
        m1m2.append(m1m2_accuracy(train_x, train_y, pool, test, test_y, seed=draw, steps=300))
        probe.append(fit_and_score(train_x, train_y, test, test_y, "logreg", draw))
    assert np.mean(m1m2) > 0.95 and np.mean(m1m2) > np.mean(probe) + 0.05, (m1m2, probe)
    with pytest.raises(TextvaeError, match="unlabelled"):
        few_label_accuracy(lambda rows: codes[rows], labels[:2500].tolist(), test, test_y, [4], classifier="m1m2")
