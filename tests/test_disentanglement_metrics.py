"""Disentanglement metrics (issue 24) on hand-built codes whose scores are known: an axis-aligned
code scores near 1, a rotation of it scores low on MIG and DCI disentanglement while keeping
informativeness, and a factor the code ignores scores 0."""

import numpy as np
import pytest

from textvae.errors import TextvaeError
from textvae.evaluation import disentanglement as dm


def _data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(0, 2, n)], 1)
    aligned = factors + 0.05 * rng.standard_normal(factors.shape)  # one dimension per factor
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return factors, aligned, aligned @ q


def test_an_axis_aligned_code_scores_near_one():
    factors, aligned, _ = _data()
    scores = dm.all_metrics(aligned, factors, ["a", "b", "c"])
    assert scores["mig"] > 0.9 and scores["sap"] > 0.55  # SAP tops out at 1 - the chance accuracy
    assert scores["dci_disentanglement"] > 0.9 and scores["dci_completeness"] > 0.9
    assert scores["dci_informativeness"] > 0.95
    assert scores["beta_vae_score"] > 0.95 and scores["factor_vae_score"] > 0.95
    assert scores["modularity"] > 0.9 and scores["explicitness"] > 0.95
    assert set(scores["per_factor"]["mig"]) == {"a", "b", "c"}


def test_a_rotated_code_loses_disentanglement_but_keeps_information():
    factors, aligned, rotated = _data()
    straight, turned = dm.all_metrics(aligned, factors), dm.all_metrics(rotated, factors)
    assert turned["mig"] < 0.5 * straight["mig"]
    assert turned["dci_disentanglement"] < 0.7 * straight["dci_disentanglement"]
    assert turned["dci_informativeness"] > 0.9  # every factor is still in the code


def test_a_factor_the_code_ignores_scores_zero():
    factors, aligned, _ = _data()
    code = aligned[:, :2]  # the third factor is not in the code
    result = dm.mig(code, factors)
    assert result["per_factor"][2] == pytest.approx(0.0, abs=0.02) and result["per_factor"][0] > 0.9
    assert dm.sap(code, factors)["per_factor"][2] == pytest.approx(0.0, abs=0.05)


def test_bad_shapes_are_one_line():
    with pytest.raises(TextvaeError, match="same N"):
        dm.mig(np.zeros((30, 2)), np.zeros((20, 1)))
    with pytest.raises(TextvaeError, match="at least 20"):
        dm.mig(np.zeros((5, 2)), np.zeros((5, 1)))
