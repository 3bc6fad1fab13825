import json
import math

import pytest
import torch

from textvae.cli import main
from textvae.config import FreeBitsConfig, ScheduleConfig, load_recipe
from textvae.data.batching import collate
from textvae.data.tokenizer import UNK_ID
from textvae.errors import TextvaeError
from textvae.evaluation.vae import active_units, importance_weighted_nll, mutual_information
from textvae.models import build_model
from textvae.objectives.kl import gaussian_kl, kl_penalty
from textvae.objectives.mmd import mmd
from textvae.objectives.reconstruction import output_nll, sentence_nll
from textvae.objectives.schedules import schedule_value
from textvae.training import train
from textvae.training.logging import read_metrics
from tests.conftest import TINY

SEQS = [[5 + (i * 7 + j) % 30 for j in range(3 + i % 6)] for i in range(48)]


def _model(*overrides, vocab=40):
    config = load_recipe(None, ["model.embedding_dim=16", "model.encoder.hidden_size=24",
                                "model.decoder.hidden_size=24", "model.latent.dim=8",
                                "model.latent.type=gaussian", *overrides])
    torch.manual_seed(0)
    return build_model(config.model, vocab_size=vocab)


def test_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mean, logvar = torch.randn(3, 4), torch.randn(3, 4) * 0.5
    z = mean + torch.randn(200_000, 3, 4) * (0.5 * logvar).exp()
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + (z - mean) ** 2 / logvar.exp())
    log_p = -0.5 * (math.log(2 * math.pi) + z ** 2)
    assert torch.allclose(gaussian_kl(mean, logvar), (log_q - log_p).mean(0), atol=0.02)


@pytest.mark.parametrize("kind", ["fixed", "learnable"])
def test_bn_vae_kl_lower_bound_holds_on_a_batch(kind):
    model = _model("model.latent.batch_norm.type=" + kind, "model.latent.batch_norm.gamma=0.6")
    with torch.no_grad():
        model.latent.batch_norm.shift.uniform_(-0.3, 0.3)
    model.train()
    batch = collate(SEQS)
    posterior = model.encode(batch.src, batch.lengths)
    kl = gaussian_kl(posterior["mean"], posterior["logvar"]).sum(1).mean()
    bn = model.latent.batch_norm
    bound = 0.5 * (bn.gamma ** 2 + bn.shift ** 2).sum()
    assert float(kl.detach()) >= float(bound.detach()) * (1 - 1e-3)
    if kind == "learnable":
        assert bool(((bn.gamma ** 2 > 0.5) & (bn.gamma ** 2 < 1)).all())  # tau = 0.5 < gamma^2 < 1


def test_free_bits_clamp_the_penalty():
    kl = torch.tensor([[0.1, 2.0], [0.3, 4.0]])
    assert float(kl_penalty(kl, FreeBitsConfig())) == pytest.approx(3.2)
    assert float(kl_penalty(kl, FreeBitsConfig("per_dim", 0.5))) == pytest.approx(0.5 + 3.0)
    assert float(kl_penalty(kl, FreeBitsConfig("batch", 5.0))) == pytest.approx(5.0)


def test_mmd_separates_distributions():
    torch.manual_seed(0)
    prior = torch.randn(256, 8)
    assert abs(float(mmd(torch.randn(256, 8), prior))) < 0.01
    assert float(mmd(torch.randn(256, 8) + 2.0, prior)) > 0.1
    assert float(mmd(torch.randn(256, 8) * 3, prior, "rbf")) > 0.05


@pytest.mark.parametrize("autocast", [False, True])
def test_output_nll_matches_log_softmax_nll_and_its_gradients(autocast):
    torch.manual_seed(0)
    layer = torch.nn.Linear(16, 50)
    states = (torch.randn(3, 5, 16) * 3).requires_grad_()
    targets = torch.randint(4, 50, (3, 5))
    targets[0, 3:] = 0  # padding
    targets[1, 4] = 0
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        fused = output_nll(states, layer, targets)
        fused_grads = torch.autograd.grad((fused * torch.tensor([1.0, 2.0, 3.0])).sum(), [states, *layer.parameters()])
        logits = layer(states)
    reference = sentence_nll(logits, targets)
    grads = torch.autograd.grad((reference * torch.tensor([1.0, 2.0, 3.0])).sum(), [states, *layer.parameters()])
    tolerance = 2e-2 if autocast else 1e-5  # bf16 matmuls: both sides round, in different places
    assert torch.allclose(fused, reference, rtol=tolerance, atol=tolerance)
    for ours, theirs in zip(fused_grads, grads):
        assert ours.dtype == theirs.dtype
        assert torch.allclose(ours, theirs, rtol=tolerance, atol=tolerance)
    assert fused_grads[0][0, 3:].abs().max() == 0  # padding positions get no gradient


@pytest.mark.parametrize("config, points", [
    (ScheduleConfig("constant", value=0.3), {0: 0.3, 10_000: 0.3}),
    (ScheduleConfig("linear", start=0.0, value=1.0, steps=100, warmup=10),
     {0: 0.0, 10: 0.0, 60: 0.5, 110: 1.0, 500: 1.0}),
    (ScheduleConfig("logistic", start=0.0, value=1.0, steps=100), {50: 0.5, 1_000: 1.0}),
    (ScheduleConfig("cyclical", start=0.0, value=1.0, steps=100, cycles=2, ratio=0.5),
     {0: 0.0, 25: 0.5, 50: 1.0, 99: 1.0, 100: 0.0, 125: 0.5, 200: 1.0, 230: 1.0}),
])
def test_schedules_hit_their_values(config, points):
    for step, value in points.items():
        assert schedule_value(config, step) == pytest.approx(value, abs=1e-3), step
    if config.type == "logistic":
        assert schedule_value(config, 0) < 0.01 and schedule_value(config, 100) > 0.99


def test_decoder_word_dropout_replaces_the_expected_share():
    model = _model("model.decoder.word_dropout.value=0.3")
    batch = collate(SEQS * 20)
    model.train()
    torch.manual_seed(1)
    inputs = model.decoder_inputs(batch)
    assert torch.equal(inputs[:, 0], batch.tgt_in[:, 0])  # BOS is kept
    real = batch.tgt_in[:, 1:] != 0
    share = float((inputs[:, 1:][real] == UNK_ID).float().mean())
    assert share == pytest.approx(0.3, abs=0.03)
    model.eval()
    assert torch.equal(model.decoder_inputs(batch), batch.tgt_in)


def test_importance_weighted_nll_is_tighter_than_the_elbo():
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batch = collate(SEQS)
    for _ in range(30):
        optimizer.zero_grad()
        model(batch)["loss"].backward()
        optimizer.step()
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        post = model.encode(batch.src, batch.lengths)
        iw = importance_weighted_nll(model, batch, post["mean"], post["logvar"], k=200, chunk=50).mean()
        one = torch.stack([importance_weighted_nll(model, batch, post["mean"], post["logvar"], k=1, chunk=1).mean()
                           for _ in range(50)]).mean()  # k = 1 is the ELBO (in expectation)
    assert float(iw) <= float(one)


def test_active_units_and_mutual_information():
    torch.manual_seed(0)
    means = torch.zeros(500, 4)
    means[:, 2] = torch.randn(500)  # one planted active dimension
    means[:, 0] = 0.05 * torch.randn(500)  # variance 0.0025: inactive
    assert active_units(means) == 1
    informative = mutual_information(torch.randn(256, 4) * 3, torch.full((256, 4), -4.0))
    uninformative = mutual_information(torch.zeros(256, 4), torch.zeros(256, 4))
    assert informative > 3 and abs(uninformative) < 0.1


@pytest.mark.parametrize("override, pattern", [
    ("model.latent.dim=0", "model.latent.dim' must be at least 1"),
    ("model.latent.batch_norm.tau=1.2", "tau' must be in \\(0, 1\\)"),
    ("model.loss.kl_weight.steps=-5", "kl_weight.steps' must be a positive"),
    ("model.decoder.tie_embeddings=true", "decoder.tie_embeddings' needs"),
    ("model.encoder.num_heads=5", "num_heads' must divide"),
])
def test_bad_model_configs_fail_at_config_time(override, pattern):
    extra = ["model.latent.type=gaussian", "model.latent.batch_norm.type=learnable"] if "tau" in override else []
    if "num_heads" in override:
        extra = ["model.encoder.type=transformer"]
    if "tie" in override:
        extra = ["model.embedding_dim=128", "model.decoder.hidden_size=256"]
    with pytest.raises(TextvaeError, match=pattern):
        load_recipe(None, [*extra, override])


@pytest.mark.parametrize("kind", ["gru", "transformer"])
def test_vae_decoders_memorise_and_step_consistently(kind):
    extra = [f"model.encoder.type={kind}", f"model.decoder.type={kind}", "model.encoder.num_heads=2",
             "model.decoder.num_heads=2", "model.encoder.ff_size=48", "model.decoder.ff_size=48"]
    model = _model(*extra, "model.latent.type=deterministic")
    batch = collate(SEQS[:6])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        optimizer.zero_grad()
        model(batch)["loss"].backward()
        optimizer.step()
    model.eval()
    decoded = model.reconstruct(batch, max_len=12)
    for row, seq in enumerate(SEQS[:6]):
        assert decoded[row, :len(seq) + 1].tolist() == seq + [3]


def _tiny(recipe, *extra):
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "recipes", recipe)
    return load_recipe(path, TINY + ["tokenizer.type=word", *extra])


def test_tiny_vae_learns_on_the_synthetic_corpus(tmp_path):
    config = _tiny("synthetic_vae.yaml", "train.max_steps=40", "train.eval_every=10", "train.lr=0.01",
                   "model.loss.kl_weight.steps=40")
    result = train(config, tmp_path / "run")
    dev = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["split"] == "dev"]
    assert dev[-1]["rec"] < 0.8 * dev[0]["rec"]
    assert dev[-1]["recon_acc"] > dev[0]["recon_acc"]
    assert {"kl", "elbo", "kl_weight"} <= set(dev[-1])
    train_records = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["split"] == "train"]
    assert train_records[0]["kl_weight"] < train_records[-1]["kl_weight"]  # annealing is logged every step
    assert result["test"]["elbo"] > 0


def test_evaluate_vae_command(tmp_path, capsys):
    run = tmp_path / "run"
    train(_tiny("synthetic_bnvae.yaml", "train.max_steps=10"), run)
    out = tmp_path / "diag.json"
    assert main(["evaluate", "vae", "--model", str(run), "--max-sentences", "40", "--samples", "5",
                 "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    for key in ("nll", "ppl", "elbo", "kl", "mi", "active_units", "recon_bleu", "samples", "homotopy"):
        assert key in result, key
    assert result["nll"] <= result["elbo"] + 1.0
    assert result["kl"] > 0 and 0 <= result["mi"] and result["active_units"] <= 16
    assert "| NLL |" in capsys.readouterr().out
    assert main(["evaluate", "vae", "--model", str(run), "--samples", "0", "--output", str(tmp_path / "x.json")]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert main(["evaluate", "vae", "--model", str(run), "--output", str(out)]) == 2  # exists: needs --force


def test_language_model_baseline_trains_and_evaluates(tmp_path, capsys):
    run = tmp_path / "lm"
    result = train(_tiny("synthetic_lm.yaml", "train.max_steps=10"), run)
    assert "recon_acc" not in result["dev"] and result["dev"]["nll_token"] > 0
    capsys.readouterr()
    assert main(["evaluate", "vae", "--model", str(run), "--max-sentences", "30", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["nll"] == pytest.approx(result["rec"]) and "kl" not in result
