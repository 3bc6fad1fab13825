"""A model added in one file: registered here, it trains, saves, reloads and decodes through the
CLI and the API with no other change to textvae (the "adding a model" example of
docs/contributing.md, kept working by this test)."""

from dataclasses import dataclass, field
from typing import List

import torch
import yaml
from torch import nn

import textvae
from textvae.cli import main
from textvae.config import DecoderConfig, ModelConfig
from textvae.data.tokenizer import PAD_ID
from textvae.models import MODELS, register_model
from textvae.models.base import Model
from textvae.models.components.decoders import build_decoder
from textvae.objectives.terms import LossTerm
from tests.test_contract import check_model_contract, contract_config


@dataclass
class BagOfWordsConfig(ModelConfig):
    type: str = "toy_bag_of_words"
    embedding_dim: int = 32
    code_dim: int = 16
    decoder: DecoderConfig = field(default_factory=lambda: DecoderConfig(hidden_size=32))
    code_penalty: float = 0.01  # weight of the L2 penalty on the codes


@register_model("toy_bag_of_words", config=BagOfWordsConfig)
class BagOfWordsAutoencoder(Model):
    """The code is a projection of the mean word embedding; a GRU decodes the sentence from it."""

    test_overrides = ("model.code_dim=8",)

    def __init__(self, config, vocab_size, label_names, tokenizer=None):
        super().__init__(config, vocab_size, label_names, tokenizer)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.code = nn.Linear(config.embedding_dim, config.code_dim)
        self.decoder = build_decoder(self.embedding, config.code_dim, config.decoder, 0.0)

    @property
    def latent_dim(self):
        return self.config.code_dim

    has_prior = True

    def encode(self, src, lengths):
        mean = self.code(self.embedding(src).sum(1) / lengths.clamp(min=1)[:, None])
        return {"z": mean, "mean": mean}

    def loss_terms(self) -> List[LossTerm]:
        return [LossTerm("rec", self._rec), LossTerm("code_penalty", self._penalty, weight=self.config.code_penalty)]

    def context(self, batch):
        return {"batch": batch, "z": self.encode(batch.src, batch.lengths)["z"]}

    def _rec(self, context):
        batch = context["batch"]
        rec = self.decoder.nll(batch.tgt_in, context["z"], batch.tgt_out).mean()
        return rec, {"rec": rec.detach()}

    def _penalty(self, context):
        value = context["z"].pow(2).sum(1).mean()
        return value, {"code_norm": value.detach()}

    @torch.inference_mode()
    def reconstruct(self, batch, max_len):
        from textvae.decoding import greedy

        z = self.encode(batch.src, batch.lengths)["mean"]
        return greedy(self.decoder.step, self.decoder.select, self.decoder.initial_state(z), len(batch), max_len)


def test_a_model_in_one_file_trains_saves_reloads_and_decodes(tmp_path, capsys):
    assert MODELS["toy_bag_of_words"] is BagOfWordsAutoencoder
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump({
        "data": {"path": "synthetic:400"}, "tokenizer": {"type": "word", "vocab_size": 200},
        "model": {"type": "toy_bag_of_words", "code_dim": 16},
        "train": {"max_steps": 40, "eval_every": 20, "checkpoint_every": 20, "lr": 0.005, "max_sentences": 32}}))
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out)]) == 0
    assert "trained 40 steps" in capsys.readouterr().out

    model = textvae.load(out, device="cpu")  # the API
    assert isinstance(model.model, BagOfWordsAutoencoder) and model.config.model.code_dim == 16
    assert model.encode(["the food was great ."]).shape == (1, 16)
    api_out = model.reconstruct(["the food was great ."])
    sentences = tmp_path / "in.txt"
    sentences.write_text("the food was great .\n")
    assert main(["reconstruct", "--model", str(out), "--input", str(sentences), "--device", "cpu"]) == 0  # the CLI
    assert capsys.readouterr().out.splitlines() == api_out
    report = tmp_path / "samples"
    assert main(["report", "samples", "--model", str(out), "-n", "3", "--out", str(report), "--device", "cpu"]) == 0
    assert (report / "report.html").is_file()


def test_the_contract_test_covers_a_new_model(tmp_path):
    check_model_contract(contract_config("toy_bag_of_words", {}), tmp_path)
