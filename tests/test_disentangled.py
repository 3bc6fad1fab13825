"""The style/content split VAE (John et al. 2019) on the synthetic corpus."""

import io
import json
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.synthetic import synthetic_splits
from textvae.errors import TextvaeError
from textvae.training import train
from textvae.transfer.interactive import run_interactive
from tests.data.test_synthetic import NEGATIVE, POSITIVE

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_disentangled_vae.yaml")
SMALL = ["data.path=synthetic:6000", "model.embedding_dim=64", "model.encoder.hidden_size=128",
         "model.decoder.hidden_size=128", "train.max_steps=500", "train.max_sentences=64",
         "train.eval_every=500", "train.checkpoint_every=500", "train.max_minutes=null",
         "train.eval_max_sentences=200", "train.lr=0.003"]
TEST = synthetic_splits(n_train=10, n_dev=10, n_test=200, seed=0)["test"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("disentangled") / "run"
    train(load_recipe(RECIPE, SMALL), out)
    return textvae.load(out, device="cpu")


def test_transfer_flips_the_style_word_and_keeps_the_noun(trained):
    negatives = [e for e in TEST if e.label == 0][:60]
    outputs = trained.transfer([e.text for e in negatives], to="positive")
    flipped = sum(bool(set(o.split()) & POSITIVE) and not set(o.split()) & NEGATIVE for o in outputs)
    kept_nouns = sum(all(n in o.split() for n in e.nouns) for o, e in zip(outputs, negatives))
    assert flipped >= 0.8 * len(negatives), list(zip(outputs[:5], negatives[:5]))
    assert kept_nouns >= 0.6 * len(negatives), list(zip(outputs[:5], negatives[:5]))


def test_style_lives_in_s_not_in_c(trained):
    from textvae.evaluation.probes import probe_accuracy

    texts, labels = [e.text for e in TEST], [e.label for e in TEST]
    codes = trained.encode(texts)
    s, c = trained.model.split(codes)
    assert probe_accuracy(s[:100], labels[:100], s[100:], labels[100:]) >= 0.95
    assert probe_accuracy(c[:100], labels[:100], c[100:], labels[100:]) <= 0.8


def test_entropy_losses_push_the_discriminator_towards_chance(tmp_path):
    """The label discriminator on c is less sure with the adversarial weight on than (almost) off."""
    entropies = {}
    for weight in (1e-6, 3.0):
        config = load_recipe(RECIPE, SMALL + ["train.max_steps=150", "train.eval_every=150",
                                              "train.checkpoint_every=150", f"model.style.adversarial={weight}"])
        entropies[weight] = train(config, tmp_path / f"adv{weight}")["dev"]["adv_style_entropy"]
    assert entropies[3.0] > entropies[1e-6]


def test_adversaries_read_standardised_codes():
    """Shrinking the direction that carries the label does not hide it from an adversary."""
    from textvae.models.components.classifiers import Standardise

    codes = torch.randn(256, 4)
    codes[:, 2] = 1e-2 * torch.randn(256)
    out = Standardise()(codes)
    torch.testing.assert_close(out.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(0, unbiased=False), torch.ones(4), atol=1e-4, rtol=0)


def test_label_mmd_is_zero_only_when_the_code_ignores_the_label():
    from textvae.objectives.mmd import label_mmd

    torch.manual_seed(0)
    labels = torch.arange(400) % 2
    independent = torch.randn(400, 8)
    leaking = independent.clone()
    leaking[:, 3] += 1.5 * labels
    assert abs(float(label_mmd(independent, labels))) < 0.01
    assert float(label_mmd(leaking, labels)) > 0.02
    # standardised: shrinking the code does not shrink the penalty
    torch.testing.assert_close(label_mmd(1e-2 * leaking, labels), label_mmd(leaking, labels), rtol=1e-3, atol=1e-5)
    assert float(label_mmd(leaking, torch.zeros(400, dtype=torch.long))) == 0.0  # one label: nothing to match


def test_label_mmd_penalty_hides_the_label_from_a_probe():
    """An encoder trained to keep the other features while minimising label_mmd leaves a probe at chance."""
    from textvae.evaluation.probes import probe_accuracy
    from textvae.objectives.mmd import label_mmd

    torch.manual_seed(0)
    labels = torch.arange(512) % 2
    x = torch.randn(512, 6)
    x[:, 0] = 2.0 * labels - 1.0 + 0.3 * torch.randn(512)  # the label, plus 5 label-free features
    encoder, reader = torch.nn.Linear(6, 6), torch.nn.Linear(6, 5)
    optimizer = torch.optim.Adam([*encoder.parameters(), *reader.parameters()], lr=0.02)
    before = probe_accuracy(encoder(x[:256]), labels[:256].tolist(), encoder(x[256:]), labels[256:].tolist())
    for _ in range(300):
        optimizer.zero_grad()
        c = encoder(x[:256])
        (torch.nn.functional.mse_loss(reader(c), x[:256, 1:]) + 10.0 * label_mmd(c, labels[:256])).backward()
        optimizer.step()
    with torch.no_grad():
        c_train, c_test = encoder(x[:256]), encoder(x[256:])
        kept = torch.nn.functional.mse_loss(reader(c_test), x[256:, 1:])
    after = probe_accuracy(c_train, labels[:256].tolist(), c_test, labels[256:].tolist())
    assert before > 0.9 and after < 0.65, (before, after)
    assert float(kept) < 0.1


def test_content_mmd_weight_reaches_the_loss(tmp_path):
    config = load_recipe(RECIPE, SMALL + ["train.max_steps=3", "train.eval_every=3", "train.checkpoint_every=3",
                                          "model.style.content_mmd=5"])
    assert train(config, tmp_path / "run")["dev"]["content_mmd"] >= 0


def test_extra_discriminator_steps_on_remembered_codes(tmp_path, monkeypatch):
    """discriminator_steps=3: the adversaries' optimizer steps three times per training step (once
    on the batch, twice on remembered codes), the encoder's once, and the memory stays bounded."""
    from textvae.models.components.classifiers import Standardise
    from textvae.training.trainer import Trainer

    steps = {}
    original = Trainer.train_step

    def counting(self, micro_batches):
        totals = original(self, micro_batches)
        steps["adversaries"] = max(int(s["step"]) for s in self.optimizers[1].state.values())
        steps["main"] = max(int(s["step"]) for s in self.optimizers[0].state.values())
        steps["memory"] = self.model._adversary_memory["filled"]
        return totals

    config = load_recipe(RECIPE, SMALL + ["train.max_steps=12", "train.eval_every=12", "train.checkpoint_every=12",
                                          "model.style.discriminator_steps=3", "model.style.discriminator_memory=100",
                                          "model.style.discriminator_standardise=true"])
    monkeypatch.setattr(Trainer, "train_step", counting)
    train(config, tmp_path / "run")
    assert steps["main"] == 12 and steps["adversaries"] == 36
    assert isinstance(textvae.load(tmp_path / "run", device="cpu").model.style_adversary[0], Standardise)
    assert steps["memory"] == 100


def test_style_means_are_saved_and_reloaded(trained):
    means = trained.model.style_means
    assert means.abs().sum() > 0
    again = textvae.load(trained.path, device="cpu")
    assert torch.equal(again.model.style_means, means)
    assert again.transfer(["the food was terrible ."], to="positive") == trained.transfer(
        ["the food was terrible ."], to="positive")


def test_strength_zero_keeps_the_style(trained):
    text = [e.text for e in TEST if e.label == 0][:10]
    assert trained.transfer(text, to="positive", strength=0.0) == trained.reconstruct(text)


def test_interactive_through_a_pipe_matches_batch_mode(trained):
    lines = [e.text for e in TEST[:3]]
    stdin = io.StringIO("\n".join(lines[:2]) + "\n\n:beam 3\n" + lines[2] + "\n:strength x\n:rerank 1\n" + lines[0]
                        + "\n:rerank -1\n" + lines[1] + "\n:quit\nignored\n")
    stdout = io.StringIO()
    assert run_interactive(trained, {"strategy": "greedy"}, stdin=stdin, stdout=stdout) == 0
    printed = stdout.getvalue().splitlines()
    assert not any(p.startswith(">") for p in printed)  # no prompt on a pipe
    positive = [p.split(": ", 1)[1].split("  (judge")[0] for p in printed if p.strip().startswith("positive:")]
    assert positive[:2] == trained.transfer(lines[:2], to="positive")
    assert positive[2] == trained.transfer(lines[2:], to="positive", strategy="beam", beam_size=3)[0]
    assert "" in printed and any("expected a number" in p for p in printed)
    reranked = trained.transfer(lines[:1], to="positive", strategy="beam", beam_size=3, rerank=1.0)[0]
    assert positive[3] == reranked
    assert any("rerank must not be negative" in p for p in printed)  # said, and the session goes on
    assert "ignored" not in stdout.getvalue()


def test_reranking_chooses_among_the_beam_by_the_models_own_heads(trained, tmp_path):
    """Reranking with the multitask style classifier on the candidates' re-encoded style codes
    and the cycle term (rebuild the source from the candidate's content code) picks candidates
    from the beam: with a large style weight, the chosen candidate's style code is classified as
    the target at least as often as the beam's own best, and the output stays one of the beam's
    candidates."""
    negatives = [e.text for e in TEST if e.label == 0][:40]
    beam = {"strategy": "beam", "beam_size": 4}
    candidates = trained.transfer(negatives, to="positive", n_best=4, **beam)
    plain = trained.transfer(negatives, to="positive", **beam)
    styled = trained.transfer(negatives, to="positive", rerank=100.0, **beam)
    cycled = trained.transfer(negatives, to="positive", rerank_cycle=100.0, **beam)
    assert plain == [c[0] for c in candidates]
    assert all(o in c for o, c in zip(styled + cycled, candidates + candidates))

    def positive_share(texts):
        s, _ = trained.model.split(trained.encode(texts))
        with torch.inference_mode():
            return (trained.model.style_classifier(s).argmax(-1) == 1).float().mean().item()

    assert positive_share(styled) >= positive_share(plain)
    with pytest.raises(TextvaeError, match="beam of 2 or more"):
        trained.transfer(negatives[:1], to="positive", rerank=1.0)
    no_classifier = tmp_path / "no-classifier"
    train(load_recipe(RECIPE, SMALL + ["train.max_steps=2", "model.style.multitask=0"]), no_classifier)
    with pytest.raises(TextvaeError, match="multitask style classifier"):
        textvae.load(no_classifier, device="cpu").transfer(negatives[:1], to="positive", rerank=1.0, **beam)
    assert textvae.load(no_classifier, device="cpu").transfer(negatives[:1], to="positive", rerank_cycle=1.0, **beam)


def test_interactive_shows_the_cached_judges_confidence(trained):
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.judge import cached_judge

    cached_judge(load_corpus(trained.config.data.path))  # what `textvae evaluate transfer` leaves behind
    stdout = io.StringIO()
    assert run_interactive(trained, {"strategy": "greedy"}, stdin=io.StringIO(TEST[0].text + "\n"), stdout=stdout) == 0
    assert "(judge: positive " in stdout.getvalue() and "(judge: negative " in stdout.getvalue()


def test_transfer_command_bad_input_and_blank_lines(trained, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("the food was terrible .\n\nthe staff was rude .\n")
    assert main(["transfer", "--model", str(trained.path), "--to", "positive", "--input", str(source)]) == 0
    out = capsys.readouterr().out.split("\n")
    assert out[1] == "" and out[0] and out[2]
    assert main(["transfer", "--model", str(trained.path), "--to", "sarcastic", "--input", str(source)]) == 2
    assert "negative, positive" in capsys.readouterr().err
    with pytest.raises(TextvaeError, match="unknown style"):
        trained.transfer(["x"], to="sarcastic")


def test_long_sentences_are_truncated_with_a_warning(trained, caplog):
    long = " ".join(["the food was great ."] * 40)
    with caplog.at_level("WARNING", logger="textvae"):
        out = trained.transfer([long], to="negative")
    assert len(out) == 1 and "truncated" in caplog.text


@pytest.mark.parametrize("override, key", [("model.style.dim=-1", "style.dim"),
                                           ("model.style.multitask=-2", "style.multitask"),
                                           ("model.latent.type=none", "latent.type"),
                                           ("model.style.discriminator_steps=0", "style.discriminator_steps"),
                                           ("model.style.discriminator_memory=0", "style.discriminator_memory"),
                                           ("model.style.content_mmd=-1", "style.content_mmd")])
def test_bad_style_config(override, key):
    with pytest.raises(TextvaeError, match=key):
        load_recipe(RECIPE, [override])


def test_models_without_a_style_head_refuse_to_transfer(tiny_config, tmp_path, capsys):
    out = tmp_path / "ae"
    train(tiny_config("train.max_steps=2"), out)
    assert main(["transfer", "--model", str(out), "--to", "positive", "--input", os.devnull]) == 2
    assert "cannot transfer" in capsys.readouterr().err


def test_latent_plot_of_style_and_content(trained, tmp_path, capsys):
    out = tmp_path / "latent"
    args = ["report", "latent", "--model", str(trained.path), "--max-sentences", "150", "--out", str(out)]
    assert main(args) == 0
    assert (out / "latent.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (out / "report.html").read_text()
    assert "latent.png" in (out / "report.md").read_text()
    assert main(args) == 2  # no overwriting without --force
    assert main(args + ["--force", "--method", "pca"]) == 0


def test_few_label_probe_of_each_code_part(trained, tmp_path, capsys):
    codes = trained.encode([e.text for e in TEST[:4]])
    s, c = trained.model.split(codes)
    assert torch.equal(codes[:, trained.model.code_part_mask("style")], s)
    assert torch.equal(codes[:, trained.model.code_part_mask("content")], c)
    accuracy = {}
    for part in ("style", "content"):
        out = tmp_path / f"{part}.json"
        assert main(["evaluate", "semisupervised", "--model", str(trained.path), "--labels", "100", "--draws", "2",
                     "--part", part, "--output", str(out)]) == 0
        saved = json.loads(out.read_text())
        assert saved["part"] == part
        accuracy[part] = saved["results"][str(trained.path)]["100"]["mean"]
    capsys.readouterr()
    assert accuracy["style"] >= 95 and accuracy["content"] < accuracy["style"] - 10, accuracy
