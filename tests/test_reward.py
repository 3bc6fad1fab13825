"""Direct-reward fine-tuning (issue 23): self-critical policy gradient on sampled transfers, rewards
from the model's own classifier, the cycle reconstruction and a language model."""

import json
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.models import build_model
from textvae.training import train

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
TINY = ["data.path=synthetic:600", "train.max_minutes=null", "train.eval_every=1000", "train.checkpoint_every=1000",
        "train.eval_max_sentences=20", "train.eval_transfer_sentences=0", "model.embedding_dim=16",
        "model.encoder.hidden_size=16", "model.decoder.hidden_size=32"]


def _model(*overrides, name="synthetic_ibt_gru"):
    config = load_recipe(os.path.join(RECIPES, f"{name}.yaml"), TINY + ["model.reward.weight.value=1", *overrides])
    torch.manual_seed(0)
    return build_model(config.model, 40, num_labels=2).train()


def _batch():
    return collate([[5, 6, 7], [8, 9], [10, 11, 12, 13], [14, 15]], [0, 1, 0, 1])


@pytest.mark.parametrize("name", ["synthetic_ibt_gru", "synthetic_melnyk"])
def test_the_reward_trains_only_the_policy_through_its_log_probabilities(name):
    model = _model(name=name)
    batch = _batch()
    context = model.context(batch)
    loss, metrics = model._reward_term(context)
    loss.backward()
    assert {"reward", "reward_greedy", "reward_style", "reward_content", "reward_weight_style"} <= set(metrics)
    assert 0 <= float(metrics["reward_style"]) <= 1 and 0 <= float(metrics["reward_content"]) <= 1
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.classifier.parameters())
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None) > 0


def test_the_advantage_is_zero_when_the_sample_is_the_greedy_output():
    model = _model("model.reward.temperature=0.0001")  # sampling that is greedy decoding
    batch = _batch()
    targets = torch.tensor([1, 0, 1, 0])
    sampled = model._decoded(batch, targets, "sample", 0.0001)
    greedy = model._decoded(batch, targets, "greedy")
    assert torch.equal(sampled[0], greedy[0])
    context = model.context(batch)
    context["targets"] = targets
    loss, metrics = model._reward_term(context)
    assert float(metrics["advantage"]) == 0 and float(loss.detach()) == 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("reward")
    train(load_recipe(os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), TINY + ["train.max_steps=10"]), root / "base")
    return root


def test_fine_tuning_from_a_trained_model_logs_every_reward_and_its_weight(trained, tiny_lm_run, tmp_path):
    out = tmp_path / "tuned"
    train(load_recipe(os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), TINY + [
        "train.max_steps=3", "train.log_every=1", f"train.init_from={trained / 'base'}", "model.reward.weight.value=1",
        "model.reward.fluency=0.5", f"model.reward.lm={tiny_lm_run}", "model.reward.style=2"]), out)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in logged if r["split"] == "train"]
    assert steps and all({"reward", "reward_fluency", "reward_style", "reward_content"} <= set(r) for r in steps)
    assert steps[0]["reward_weight_style"] == 2 and steps[0]["reward_weight_fluency"] == 0.5
    state = textvae.load(out, device="cpu").model.state_dict()
    assert not any("reward_lm" in k for k in state)  # the reward's LM is not part of the model


def test_the_fluency_reward_against_the_source_is_its_perplexity_ratio_capped_at_one(trained, tiny_lm_run):
    from textvae.models.style_seq2seq.model import token_nll
    from textvae.modeldir import load_model_dir

    bundle, lm = load_model_dir(trained / "base", device="cpu"), textvae.load(tiny_lm_run, device="cpu")
    model, tokenizer = bundle.model, bundle.tokenizer
    model.config.reward.fluency, model.config.reward.content, model.config.reward.style = 1.0, 0.0, 0.0
    model.attach_external("model.reward.lm", lm)
    sources = ["quite poor service and dreadful owner .", "the waitress was helpful , i will definitely come back ."]
    outputs = [sources[0], ". back come definitely will i , helpful was waitress the"]  # itself; a word salad
    batch = collate(tokenizer.encode(sources), [0, 1])
    transfers = collate(tokenizer.encode(outputs))
    with torch.no_grad():
        nll_source = token_nll(lm, sources, "cpu")
        nll_transfer = token_nll(lm, tokenizer.decode(tokenizer.encode(outputs)), "cpu")
        relative, _ = model.transfer_rewards(batch, torch.tensor([1, 0]), transfers.src, transfers.lengths)
        model.config.reward.fluency_reference = "none"
        absolute, _ = model.transfer_rewards(batch, torch.tensor([1, 0]), transfers.src, transfers.lengths)
    assert float(relative[0]) == pytest.approx(1.0)  # the source itself: as fluent as the source
    expected = min(1.0, float((nll_source[1] - nll_transfer[1]).exp()))
    assert float(relative[1]) == pytest.approx(expected, rel=1e-5) and expected < 1
    assert torch.allclose(absolute, (-nll_transfer).exp(), rtol=1e-5)


@pytest.mark.parametrize("overrides, message", [
    (["model.reward.style=-1"], "must be zero or positive"),
    (["model.reward.content=nan"], "must be a finite number"),
    (["model.reward.fluency=1"], "needs model.reward.lm"),
    (["model.reward.fluency=1", "model.reward.lm=MISSING"], "does not exist"),
    (["model.reward.fluency=1", "model.reward.lm=BASE"], "is not a language model"),
    (["model.cycle.style_weight.value=0"], "own style classifier"),
])
def test_bad_reward_settings_are_refused_before_the_run_directory(trained, tmp_path, capsys, overrides, message):
    out = tmp_path / "bad"
    overrides = [o.replace("MISSING", str(tmp_path / "none")).replace("BASE", str(trained / "base")) for o in overrides]
    assert main(["train", os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), "--out", str(out), *TINY,
                 "train.max_steps=1", "model.reward.weight.value=1", *overrides]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
