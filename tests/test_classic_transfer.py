"""The classic style-transfer systems users compare against: the cross-aligned autoencoder (Shen
et al. 2017), ARAE (Zhao et al. 2018) and Melnyk et al. (2017), on the synthetic corpus."""

import json
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.data.synthetic import synthetic_splits
from textvae.errors import TextvaeError
from textvae.models import build_model
from textvae.models.arae.model import gradient_penalty
from textvae.models.cross_aligned.model import CrossAlignedAutoencoder
from textvae.training import train
from tests.data.test_synthetic import transfer_scores

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
TEST = synthetic_splits(n_train=10, n_dev=10, n_test=200, seed=0)["test"]
QUICK = ["data.path=synthetic:600", "train.max_steps=6", "train.eval_every=6", "train.checkpoint_every=6",
         "train.max_minutes=null", "train.eval_transfer_sentences=20", "train.eval_max_sentences=40"]
TINY = {"cross_aligned": ["model.embedding_dim=16", "model.style_dim=8", "model.content_dim=16", "model.filters=8"],
        "arae": ["model.embedding_dim=16", "model.hidden_size=16", "model.noise_size=8", "model.mlp_size=16"],
        "melnyk": ["model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16",
                   "model.cycle.warmup_steps=2"]}


def _recipe(name):
    return os.path.join(RECIPES, f"synthetic_{name}.yaml")


def test_cross_aligned_discriminators_compare_real_sentences_with_transfers_into_their_style():
    labels = torch.tensor([0, 0, 1, 1, 1])
    targets = 1 - labels
    real, fake = CrossAlignedAutoencoder.discriminator_pairs(labels, targets, 0)
    assert real.tolist() == [0, 1] and fake.tolist() == [2, 3, 4]  # style 0: real style-0 rows vs 1 -> 0
    real, fake = CrossAlignedAutoencoder.discriminator_pairs(labels, targets, 1)
    assert real.tolist() == [2, 3, 4] and fake.tolist() == [0, 1]


def test_cross_aligned_teacher_and_student_sequences_line_up():
    """Both hidden-state sequences start with the generator's initial state and have one state per
    target token plus it; the discriminators' loss reaches only the discriminators."""
    config = load_recipe(_recipe("cross_aligned"), TINY["cross_aligned"])
    torch.manual_seed(0)
    model = build_model(config.model, 30, num_labels=2).train()
    batch = collate([[5, 6, 7], [8, 9], [10, 11, 12, 13]], [0, 1, 1])
    context = model.context(batch)
    assert context["teach"].shape == context["student"].shape == (3, batch.tgt_in.size(1) + 1, 24)
    context["disc_loss"].backward()
    assert all(p.grad is None for p in model.decoder.parameters())
    assert any(p.grad is not None for p in model.discriminators.parameters())


def test_cross_aligned_warmup_reconstructs_alone_then_starts_the_discriminators():
    """Within ``adversarial_warmup`` a training step decodes no transfers (no student states, no
    discriminator loss, no adversarial term) and the temperature waits; after it, both run."""
    config = load_recipe(_recipe("cross_aligned"), TINY["cross_aligned"] + ["model.adversarial_warmup=3", "model.adversarial_gate=0"])
    torch.manual_seed(0)
    model = build_model(config.model, 30, num_labels=2).train()
    batch = collate([[5, 6, 7], [8, 9], [10, 11, 12, 13]], [0, 1, 1])
    adversarial = next(term for term in model.loss_terms() if term.name == "adversarial")
    model.set_step(2)
    context = model.context(batch)
    assert "student" not in context and float(context["disc_loss"]) == 0 and not context["adversarial_on"]
    assert adversarial.weight_at(2) == 0 and model.temperature() == config.model.temperature.start
    model.set_step(3)
    context = model.context(batch)
    assert context["student"].shape == context["teach"].shape and context["disc_loss"].item() > 0
    assert adversarial.weight_at(3) == config.model.adversarial > 0
    assert context["adversarial_on"]
    model.eval()
    model.set_step(0)
    assert "student" in model.context(batch)  # dev metrics always see the transfers


def test_arae_gradient_penalty_is_taken_on_interpolates():
    """For a linear critic the gradient at every interpolate is its weight: the penalty is
    (|w| - 1)^2, whatever the points."""
    critic = torch.nn.Linear(4, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))
    real, fake = torch.randn(8, 4), torch.randn(8, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)


def test_arae_generator_samples_decode_and_the_critic_trains(tmp_path, capsys):
    out = tmp_path / "arae"
    result = train(load_recipe(_recipe("arae"), QUICK + TINY["arae"]), out)
    assert {"critic_loss", "gen_loss", "clf_loss", "rec"} <= set(result["dev"])
    model = textvae.load(out, device="cpu")
    codes = model.model.prior_codes(5)
    assert codes.shape == (5, 16)
    assert len(model.decode(codes)) == 5
    report = tmp_path / "samples"
    assert main(["report", "samples", "--model", str(out), "-n", "4", "--out", str(report), "--device", "cpu"]) == 0
    assert (report / "report.json").is_file()
    assert len(model.transfer(["the food was great ."], to="negative")) == 1
    # interpolation in the generator's noise space: the ends are the codes of the two noise draws
    from textvae.reports.latent_ops import prior_interpolate

    paths = prior_interpolate(model, 2, 4)
    noise = model.model.prior_noise(4, torch.Generator().manual_seed(0))
    assert noise.shape == (4, model.model.config.noise_size) and [len(p["sentences"]) for p in paths] == [5, 5]
    ends = model.decode(model.model.codes_from_noise(noise[[0, 1, 2, 3]]))
    assert [paths[0]["sentences"][0], paths[0]["sentences"][-1], paths[1]["sentences"][0],
            paths[1]["sentences"][-1]] == ends
    assert main(["report", "samples", "--model", str(out), "-n", "2", "--interpolate", "3", "--out",
                 str(tmp_path / "paths"), "--device", "cpu"]) == 0
    assert len(json.loads((tmp_path / "paths" / "report.json").read_text())["data"][0]["sentences"]) == 4
    assert main(["report", "samples", "--model", str(out), "--interpolate", "-1", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["cross_aligned", "arae", "melnyk"])
def test_a_short_run_transfers_through_the_cli_and_reranks(name, tmp_path, capsys):
    out = tmp_path / name
    train(load_recipe(_recipe(name), QUICK + TINY[name]), out)
    capsys.readouterr()
    source = tmp_path / "in.txt"
    source.write_text("the food was great .\nthe staff is rude .\n")
    assert main(["transfer", "--model", str(out), "--to", "negative", "--input", str(source), "--device", "cpu",
                 "--strategy", "beam", "--beam", "3", "--rerank-cycle", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["transfer", "--model", str(out), "--to", "sarcastic", "--input", str(source)]) == 2
    assert "unknown style 'sarcastic'" in capsys.readouterr().err


def test_one_style_corpora_and_negative_weights_are_refused_before_any_run_directory(tmp_path, capsys):
    corpus = tmp_path / "one-style"
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        (corpus / f"{split}.0").write_text("the food was great .\nthe staff is friendly .\n" * 20)
    for name in ("cross_aligned", "arae", "melnyk"):
        out = tmp_path / f"run-{name}"
        assert main(["train", _recipe(name), "--data-dir", str(corpus), "--out", str(out), *QUICK[1:]]) == 2
        assert "2 or more styles" in capsys.readouterr().err and not out.exists()
    with pytest.raises(TextvaeError, match="adversarial"):
        load_recipe(_recipe("cross_aligned"), ["model.adversarial=-1"])
    with pytest.raises(TextvaeError, match="classifier_adversarial"):
        load_recipe(_recipe("arae"), ["model.classifier_adversarial=-0.5"])


@pytest.mark.slow  # trainings of a few thousand steps: minutes on CPU
@pytest.mark.parametrize("name, steps", [("cross_aligned", 2000), ("arae", 4000), ("melnyk", 800)])
def test_training_transfers_style_and_keeps_nouns(name, steps, tmp_path):
    out = tmp_path / name
    train(load_recipe(_recipe(name), ["data.path=synthetic:6000", f"train.max_steps={steps}", "train.max_minutes=null",
                                      f"train.eval_every={steps}", f"train.checkpoint_every={steps}"]), out)
    model = textvae.load(out, device="cpu")
    for examples, outputs, flipped, kept in transfer_scores(model, TEST):
        assert flipped >= 0.6 * len(examples), list(zip(outputs[:4], [e.text for e in examples[:4]]))
        assert kept > 0.5 * len(examples), list(zip(outputs[:4], [e.text for e in examples[:4]]))  # most


def test_melnyk_content_preservation_is_zero_when_the_content_words_are_written():
    from textvae.models.melnyk.model import content_preservation

    is_content = torch.zeros(10, dtype=torch.bool)
    is_content[[5, 7]] = True
    src = torch.tensor([[5, 6, 7]])
    kept = torch.nn.functional.one_hot(torch.tensor([[7, 2, 5, 3]]), 10).float()  # both nouns, anywhere
    mask = torch.ones(1, 4, dtype=torch.bool)
    assert content_preservation(kept, mask, src, is_content).item() == 0.0
    lost = torch.nn.functional.one_hot(torch.tensor([[7, 2, 6, 3]]), 10).float() * 0.9 + 0.01
    assert content_preservation(lost, mask, src, is_content).item() > 1.0
    assert content_preservation(kept, mask, torch.tensor([[6, 2]]), is_content).item() == 0.0  # no content words


def test_melnyk_collaborative_classifier_is_not_trained_by_the_transfer_loss():
    config = load_recipe(_recipe("melnyk"), ["model.embedding_dim=16", "model.encoder.hidden_size=16",
                                             "model.decoder.hidden_size=16", "model.cycle.warmup_steps=0"])
    torch.manual_seed(0)
    model = build_model(config.model, 30, num_labels=2).train()
    model.is_content[[5, 8]] = True
    batch = collate([[5, 6, 7], [8, 9], [10, 11, 12, 13]], [0, 1, 1])
    out = model(batch)
    assert {"style_loss", "back_transfer", "content_preservation", "clf_loss"} <= set(out)
    out["loss"].backward()  # the model's objective alone
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.classifier.parameters())
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None) > 0
    groups = {g["name"]: g for g in model.optimizer_groups()}
    assert set(groups) == {"main", "classifier"} and groups["classifier"]["loss"] == "clf_loss"


def test_arae_samples_get_a_forward_and_a_reverse_perplexity(tmp_path):
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.fluency import FluencySettings
    from textvae.evaluation.samples import sample_perplexities

    out = tmp_path / "arae"
    train(load_recipe(_recipe("arae"), QUICK + TINY["arae"]), out)
    model = textvae.load(out, device="cpu")
    lm = FluencySettings(vocab_size=200, embedding_dim=16, hidden_size=16, steps=20, max_sentences=32)
    result = sample_perplexities(model, load_corpus("synthetic:600"), train, n=60, settings=lm,
                                 cache_dir=tmp_path / "cache", max_len=12)
    assert result["samples"] > 10 and 0 < result["distinct"] <= 1
    assert result["forward_ppl"] > 1 and result["reverse_ppl"] > 1 and result["real_ppl"] > 1
    with pytest.raises(TextvaeError, match="at least 10"):
        sample_perplexities(model, load_corpus("synthetic:600"), train, n=5)
