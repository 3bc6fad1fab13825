"""Disentangling penalties (issue 24): each on a case with a known value, gradients to the intended
parameters only, FactorVAE's discriminator in its own optimizer, weights in the metrics log."""

import json
import math
import os

import pytest
import torch

from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.errors import TextvaeError
from textvae.models import build_model
from textvae.objectives import disentangle as dis

from tests.conftest import TINY

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_vae.yaml")


def test_total_correlation_is_near_zero_for_independent_codes_and_large_for_a_duplicated_one():
    torch.manual_seed(0)
    mean = torch.randn(2000, 2)
    logvar = torch.full_like(mean, -4.0)
    z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    independent = dis.kl_decomposition(z, mean, logvar, dataset_size=2000)
    dup_mean = torch.cat([mean[:, :1], mean[:, :1]], 1)
    dup_z = dup_mean + torch.randn_like(dup_mean) * (0.5 * logvar).exp()
    duplicated = dis.kl_decomposition(dup_z, dup_mean, logvar, dataset_size=2000)
    assert abs(float(independent["tc"])) < 0.1 and float(duplicated["tc"]) > 1.0
    # the three parts add up to the batch's KL estimate E[log q(z|x) - log p(z)]
    total = independent["mi"] + independent["tc"] + independent["dim_kl"]
    log_qzx = dis._log_normal(z, mean, logvar).sum(1)
    log_pz = dis._log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    assert float(total) == pytest.approx(float((log_qzx - log_pz).mean()), rel=1e-5)


def test_the_gaussian_total_correlation_is_zero_for_uncorrelated_codes_and_known_for_correlated_ones():
    from textvae.evaluation.vae import gaussian_total_correlation

    torch.manual_seed(0)
    mean = torch.randn(20000, 3)
    logvar = torch.full_like(mean, math.log(0.5))
    assert abs(gaussian_total_correlation(mean, logvar)) < 0.01
    # two dimensions with correlation rho: TC = -0.5 log(1 - rho^2); here rho = 1 / 1.5 (shared mean, own noise)
    tied = torch.cat([mean[:, :1], mean[:, :1], mean[:, 2:]], 1)
    rho = 1 / 1.5
    assert gaussian_total_correlation(tied, logvar) == pytest.approx(-0.5 * math.log(1 - rho ** 2), abs=0.02)


def test_dip_and_covariance_penalties_vanish_for_an_identity_covariance():
    torch.manual_seed(0)
    white = torch.randn(20000, 3)
    assert float(dis.dip_penalty(white, torch.full_like(white, -30.0), "dip1", 10, 10)) < 0.05
    assert float(dis.covariance_penalty(white)) < 0.1
    correlated = torch.cat([white[:, :1], white[:, :1], white[:, 2:]], 1)
    assert float(dis.covariance_penalty(correlated)) > 1.5  # cov(0, 1) = 1 counted twice
    assert dis.capacity_target(0, 25, 100) == 0 and dis.capacity_target(50, 25, 100) == 12.5
    assert dis.capacity_target(500, 25, 100) == 25


def test_the_f_statistic_is_large_for_a_separating_dimension_and_small_for_noise():
    torch.manual_seed(0)
    labels = torch.arange(400) % 2
    values = torch.stack([labels.float() * 3 + torch.randn(400), torch.randn(400)], 1)
    f = dis.f_statistic(values, labels)
    assert float(f[0]) > 100 and float(f[1]) < 5
    assert float(dis.f_statistic_loss(values, labels, [0])) < float(dis.f_statistic_loss(values, labels, [1]))


def _model(kind, *extra):
    config = load_recipe(RECIPE, TINY + [f"model.loss.disentangle.type={kind}", "model.latent.type=gaussian", *extra])
    torch.manual_seed(0)
    return build_model(config.model, 30, num_labels=2).train()


@pytest.mark.parametrize("kind", ["capacity", "tcvae", "factorvae", "dip1", "dip2", "covariance", "fstat"])
def test_each_penalty_trains_the_encoder_and_factorvae_keeps_its_discriminator_apart(kind):
    model = _model(kind, "model.loss.disentangle.gamma=5")
    groups = model.optimizer_groups()
    batch = collate([[5, 6, 7], [8, 9], [10, 11, 12, 13], [14, 15], [16, 17, 18], [19, 20]], [0, 1, 0, 1, 0, 1])
    out = model(batch)
    assert kind in out or {"capacity": "capacity_c", "tcvae": "tc", "factorvae": "tc", "dip1": "dip", "dip2": "dip",
                           "covariance": "l_sigma", "fstat": "fstat_loss"}[kind] in out
    if kind == "factorvae":
        names = {g.get("name") for g in groups}
        assert "tc_discriminator" in names
        disc = [g for g in groups if g.get("name") == "tc_discriminator"][0]
        assert {id(p) for p in disc["params"]} == {id(p) for p in model.tc_discriminator.parameters()}
        out["loss"].backward()  # the model's loss reads the discriminator frozen
        assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.tc_discriminator.parameters())
        model.zero_grad()
        out = model(batch)
        out["tc_disc_loss"].backward()  # the discriminator's loss trains the discriminator only
        assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.encoder.parameters())
        assert sum(p.grad.abs().sum() for p in model.tc_discriminator.parameters()) > 0
    else:
        out["loss"].backward()
        assert sum(p.grad.abs().sum() for p in model.encoder.parameters() if p.grad is not None) > 0


def test_weights_reach_the_metrics_log_and_bad_settings_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=3", "model.latent.type=gaussian",
                 "model.loss.disentangle.type=tcvae", "model.loss.disentangle.beta=4"]) == 0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in logged if r["split"] == "train"]
    assert train_rows and all(r["tc_beta"] == 4 and "tc" in r and "mi" in r for r in train_rows)
    assert all(r["kl_weight"] == 0 for r in train_rows)  # the KL term is replaced (and still logged)
    for overrides, message in ((["model.loss.disentangle.type=capacity", "model.loss.disentangle.c_max=-1"],
                                "c_max' must not be negative"),
                               (["model.loss.disentangle.type=factorvae", "model.latent.type=deterministic"],
                                "needs a Gaussian code"),
                               (["model.loss.disentangle.type=dip3"], "disentangle.type")):
        assert main(["train", RECIPE, "--out", str(tmp_path / "bad"), *TINY, *overrides]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "bad").exists()
    with pytest.raises(TextvaeError):
        load_recipe(RECIPE, ["model.loss.disentangle.discriminator_lr=0"])
