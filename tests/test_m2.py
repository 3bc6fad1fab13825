"""M2, the semi-supervised VAE (Kingma et al. 2014): the bound, which labels it sees, and what one
training run gives (a classifier, label-conditioned decoding, transfer)."""

import json
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.data.synthetic import generate, synthetic_splits
from textvae.data.tokenizer import train_tokenizer
from textvae.models import build_model
from textvae.models.base import TrainingData
from textvae.training import train
from tests.data.test_synthetic import transfer_scores

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_m2.yaml")
SMALL = ["model.embedding_dim=16", "model.encoder.hidden_size=16", "model.decoder.hidden_size=16", "model.latent.dim=8",
         "tokenizer.vocab_size=200"]
EXAMPLES = generate(200, seed=5)


def _model(*overrides):
    config = load_recipe(RECIPE, SMALL + list(overrides))
    texts, labels = [e.text for e in EXAMPLES], [e.label for e in EXAMPLES]
    tokenizer = train_tokenizer(texts, config.tokenizer)
    torch.manual_seed(0)
    model = build_model(config.model, len(tokenizer), tokenizer=tokenizer, label_names=["negative", "positive"])
    ids = tokenizer.encode(texts)
    model.prepare(TrainingData(ids, texts, labels, tokenizer, 0, lambda rows: []))
    return model, collate(ids[:12], labels[:12], list(range(12))), labels


def test_the_unlabelled_bound_is_the_labelled_bounds_weighted_by_q_plus_the_entropy():
    """U(x) = sum_y q(y|x) L(x,y) - H(q(y|x)), each L decoded with its own label (z noiseless here)."""
    model, batch, _ = _model()
    with torch.no_grad():
        model.latent.logvar.weight.zero_()
        model.latent.logvar.bias.fill_(-40.0)  # q(z|x,y) a point mass: the bounds are deterministic
    model.eval()
    with torch.no_grad():
        h = model.sentence(batch.src, batch.lengths)
        logits = model.classifier(h)
        nobody = torch.zeros(len(batch), dtype=torch.bool)
        _, unlabelled, *_ = model._part_bound(batch, h, logits, nobody, 1.0)
        per_label = []
        for y in range(2):
            as_y = collate([row[:n].tolist() for row, n in zip(batch.src, batch.lengths)], [y] * len(batch))
            per_label.append(model._part_bound(as_y, h, logits, ~nobody, 1.0)[1])
        q = logits.softmax(-1)
        entropy = -(q * q.log()).sum(-1)
        expected = (q * torch.stack(per_label, 1)).sum(1) - entropy
    assert torch.allclose(unlabelled, expected, atol=1e-4)
    assert (unlabelled > 0).all()


def test_labels_are_kept_balanced_and_the_hidden_ones_never_reach_the_loss():
    model, batch, labels = _model("model.labelled_count=10", "model.labelled_batch=0")
    assert model.training_labels() == 10
    kept = model.labelled_rows
    assert sorted(labels[i] for i in kept) == [0] * 5 + [1] * 5
    model.train()
    torch.manual_seed(3)
    loss = model(batch)["loss"]
    hidden = [i for i in range(len(batch)) if i not in kept]
    batch.labels[hidden] = 1 - batch.labels[hidden]  # flip every hidden label: nothing may change
    torch.manual_seed(3)
    assert torch.equal(model(batch)["loss"], loss)


def test_without_labels_there_is_no_classification_term():
    assert _model("model.labelled=0")[0].objective.names() == ["bound"]
    assert _model()[0].objective.names() == ["bound", "classify"]


def test_more_labels_than_a_style_has_is_one_line(tmp_path, capsys):
    code = main(["train", RECIPE, "--out", str(tmp_path / "run"), "data.path=synthetic:200", "model.labelled_count=5000",
                 "train.max_steps=1", *SMALL])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "labelled sentences of label" in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("m2") / "run"
    train(load_recipe(RECIPE, ["data.path=synthetic:2000", "train.max_steps=400", "train.max_minutes=null",
                               "train.eval_every=400", "train.checkpoint_every=400", "model.embedding_dim=64",
                               "model.encoder.hidden_size=64", "model.decoder.hidden_size=64", "train.threads=1"]), out)
    return out


@pytest.mark.slow
def test_one_run_gives_a_classifier_label_conditioned_samples_and_transfer(trained, capsys):
    model = textvae.load(trained, device="cpu")
    record = json.loads((trained / "model" / "labelled.json").read_text())
    assert record["labelled"] == 200 and record["per_label"] == [100, 100] and len(record["rows"]) == 200
    test = synthetic_splits(n_train=10, n_dev=10, n_test=200, seed=0)["test"]
    probabilities = model.label_probabilities([e.text for e in test])
    accuracy = (probabilities.argmax(-1) == torch.tensor([e.label for e in test])).float().mean()
    assert accuracy > 0.75  # from 200 labels (chance: 0.5; about 0.85 at this size and length)
    for examples, outputs, flipped, kept in transfer_scores(model, test, per_style=40):
        assert flipped >= 28, outputs[:5]  # decoding z with the other label writes the other style
    from textvae.reports.latent_ops import prior_samples
    from tests.data.test_synthetic import NEGATIVE, POSITIVE

    def positive_share(samples):
        return sum(bool(set(s.split()) & POSITIVE) and not set(s.split()) & NEGATIVE for s in samples) / len(samples)

    # p(x | y, z ~ N(0, I)): the same z draws, decoded with either label
    shares = {style: positive_share(prior_samples(model, 40, style=style)) for style in ("positive", "negative")}
    assert shares["positive"] - shares["negative"] >= 0.3, shares
    assert main(["evaluate", "semisupervised", "--model", str(trained), "--labels", "10,100", "--draws", "1"]) == 0
    assert "(200 labels)" in capsys.readouterr().out
    assert main(["evaluate", "vae", "--model", str(trained), "--max-sentences", "40", "--samples", "2"]) == 0
