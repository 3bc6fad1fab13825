"""One contract test for every registered model (as Hugging Face's ``ModelTesterMixin``).

Each model is built at the tiny size its ``test_overrides`` give, on the synthetic corpus, and
must: partition its trainable parameters into optimizer groups; lower its loss with one update
on a repeated batch; save and reload to identical weights and outputs; decode, sample and
transfer where it declares it can. A model added to the registry is tested here with no new
test code (:func:`check_model_contract` is also what tests/test_toy_model.py runs).
"""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

import textvae
from textvae.api import TextModel
from textvae.config import load_recipe
from textvae.data.batching import collate, id_batches
from textvae.data.synthetic import generate
from textvae.data.synthetic_mt import write_synthetic_mt
from textvae.data.tokenizer import train_tokenizer
from textvae.errors import TextvaeError
from textvae.modeldir import load_model_dir, save_model_dir
from textvae.models import MODELS, build_model, model_class
from textvae.models.base import TrainingData
from textvae.training import train
from tests.conftest import TINY

BUILT_IN = sorted(MODELS)
LABELS = ["negative", "positive"]
EXAMPLES = generate(200, seed=5)
TEXTS = [e.text for e in EXAMPLES]
GENERIC = ["data.path=synthetic:200", "tokenizer.type=word", "tokenizer.vocab_size=200"]


@pytest.fixture(scope="module")
def resources(tiny_models, tmp_path_factory):
    """Paths the models' test overrides may name: tiny GPT-2 and BERT, tiny translation models."""
    mt = tmp_path_factory.mktemp("contract-mt")
    write_synthetic_mt(mt, TEXTS, steps=5)  # they need not translate well here
    return {"gpt": tiny_models / "gpt", "bert": tiny_models / "bert",
            "mt_forward": mt / "en-pivot", "mt_backward": mt / "pivot-en"}


def contract_config(name: str, resources):
    overrides = [item.format(**resources) for item in model_class(name).test_overrides]
    return load_recipe(None, GENERIC + [f"model.type={name}", *overrides])


def _build(config):
    cls = model_class(config.model.type)
    tokenizer = cls.training_tokenizer(config.model) or train_tokenizer(TEXTS, config.tokenizer)
    torch.manual_seed(0)
    model = build_model(config.model, len(tokenizer), tokenizer=tokenizer, label_names=LABELS)
    ids = tokenizer.encode(TEXTS)
    labels = [e.label for e in EXAMPLES]
    data = TrainingData(ids, TEXTS, labels, tokenizer, 0,
                        lambda rows: [b for _, b in id_batches([ids[r] for r in rows], [labels[r] for r in rows])])
    model.prepare(data)
    model.refresh_statistics(data)
    batch = collate(ids[:16], labels[:16], list(range(16)))
    return model, tokenizer, batch


def _seeded(model, batch, seed=1):
    torch.manual_seed(seed)
    return model(batch)


def check_model_contract(config, tmp_path):
    """The contract (see the module docstring) for the model ``config`` describes."""
    model, tokenizer, batch = _build(config)
    assert model.type_name == config.model.type and isinstance(config.model, model.config_class)

    # optimizer groups: every trainable parameter in exactly one group, frozen ones in none
    groups = model.optimizer_groups()
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in model.parameters() if p.requires_grad}
    assert groups[0]["name"] == "main" and all(g["loss"] for g in groups)

    # one update lowers the loss on a repeated batch (the same noise both times)
    model.train()
    model.set_step(10)  # past the test recipes' warm-ups: every term is on
    optimizers = [torch.optim.Adam(g["params"], lr=g.get("lr", 1e-3)) for g in groups]
    out = _seeded(model, batch)
    before = out["loss"].detach().item()
    sum(out[g["loss"]] for g in groups).backward()
    for optimizer in optimizers:
        optimizer.step()
    assert _seeded(model, batch)["loss"].detach().item() < before

    # save and reload: identical weights, losses, codes and decodes
    model.eval()
    save_model_dir(tmp_path / "model", model, config, tokenizer, LABELS)
    again = load_model_dir(tmp_path / "model")
    assert type(again.model) is type(model)
    again.model.set_step(model.step_count)  # the schedules' step is the trainer's, not saved with the model
    state, reloaded = model.state_dict(), again.model.state_dict()
    assert state.keys() == reloaded.keys() and all(torch.equal(state[k], reloaded[k]) for k in state)
    with torch.no_grad():
        first, second = _seeded(model, batch), _seeded(again.model, batch)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)

    sentences = TEXTS[:3]
    original, loaded = TextModel(again, torch.device("cpu")), textvae.load(tmp_path / "model", device="cpu")
    original.model = model
    if model.latent_dim:
        codes = loaded.encode(sentences)
        assert codes.shape == (3, model.latent_dim) and 0 <= model.style_dim < model.latent_dim
        assert loaded.reconstruct(sentences) == original.reconstruct(sentences)
        assert len(loaded.reconstruct(sentences, strategy="beam", beam_size=2)) == 3
    if model.has_prior:
        assert model.prior_codes(4).shape == (4, model.latent_dim)
    if model.is_language_model:
        assert loaded.sentence_nll(sentences).shape == (3,)
    if model.can_transfer:
        out = loaded.transfer(sentences, to="positive")
        assert out == original.transfer(sentences, to="positive")
        assert len(out) == 3 and all(isinstance(s, str) for s in out)
    else:
        with pytest.raises(TextvaeError, match="cannot transfer"):
            loaded.transfer(sentences, to="positive")


@pytest.mark.parametrize("name", BUILT_IN)
def test_model_contract(name, resources, tmp_path):
    random.seed(0)
    check_model_contract(contract_config(name, resources), tmp_path)


def test_every_built_in_model_is_registered():
    assert {"seq2seq", "disentangled", "style_seq2seq", "bst", "pretrained"} <= set(BUILT_IN)


def test_format_1_model_directories_load(tmp_path):
    """A split-latent model saved by textvae's first format (every model's sections under one
    ``model`` entry, type ``seq2seq`` with ``style.dim > 0``) loads as a disentangled model."""
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_disentangled_vae.yaml")
    train(load_recipe(recipe, TINY + ["train.max_steps=3", "model.style.dim=4", "model.style.multitask=1"]),
          tmp_path / "run")
    new = textvae.load(tmp_path / "run", device="cpu")
    meta = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    meta["format_version"] = 1
    meta["config"]["model"].update(type="seq2seq", pretrained={"encoder": None, "decoder": None, "pooling": "first"},
                                   cycle={"ae_weight": 1.0, "warmup_steps": 1000}, pivot={"forward": None})
    (tmp_path / "run" / "model" / "config.json").write_text(json.dumps(meta))
    old = textvae.load(tmp_path / "run", device="cpu")
    assert old.config.model.type == "disentangled" and old.config.model == new.config.model
    sentences = ["the food was great .", "the staff is rude ."]
    assert old.transfer(sentences, to="negative") == new.transfer(sentences, to="negative")
    meta["format_version"] = 3
    (tmp_path / "run" / "model" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(TextvaeError, match="format version 3"):
        textvae.load(tmp_path / "run", device="cpu")
