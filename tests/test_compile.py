"""train.compile and decoding's --compile (issue 28): torch.compile of the training forward and
of the decoder step, equal to eager; a failing compile falls back to eager with one warning;
asking for it where it cannot run is one line."""

import logging
import os

import pytest
import torch

from textvae.cli import main
from textvae.data.batching import collate
from textvae.models import build_model
from textvae.training import trainer as trainer_module

from tests.conftest import TINY

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")


@pytest.mark.slow
def test_compiled_and_eager_forward_give_the_same_loss_and_gradients(tiny_config):
    config = tiny_config("model.latent.type=deterministic", "model.noise.word_dropout=0")
    torch.manual_seed(0)
    model = build_model(config.model, 50, num_labels=2).train()
    batch = collate([[5, 6, 7, 8], [9, 10], [11, 12, 13]], [0, 1, 1])
    eager = model(batch)["loss"]
    eager.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    compiled = torch.compile(model, dynamic=True)(batch)["loss"]
    compiled.backward()
    assert torch.allclose(eager, compiled, atol=1e-5)
    assert all(torch.allclose(g, p.grad, atol=1e-5) for g, p in zip(grads, [p for p in model.parameters()
                                                                           if p.grad is not None]))


def broken_compile(fn, **kwargs):
    """A torch.compile whose compiled function fails at its first call, as a broken backend does."""
    def call(*args, **kw):
        raise RuntimeError("backend exploded\nmore detail")
    return call


def test_a_failing_compile_warns_once_and_trains_eagerly(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", broken_compile)
    with caplog.at_level(logging.WARNING, logger="textvae"):
        assert main(["train", RECIPE, "--out", str(tmp_path / "run"), *TINY,
                     "train.max_steps=3", "train.compile=on"]) == 0
    warnings = [r.getMessage() for r in caplog.records if "train.compile" in r.getMessage()]
    assert warnings == ["train.compile: torch.compile failed (backend exploded); training without it"]
    assert (tmp_path / "run" / "model").is_dir()


def test_compile_on_without_a_backend_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(trainer_module, "compile_unavailable", lambda device: "no C++ compiler here")
    assert main(["train", RECIPE, "--out", str(tmp_path / "run"), *TINY,
                 "train.compile=on"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "textvae: error: train.compile=on: no C++ compiler here; use train.compile=off"
    assert not (tmp_path / "run").exists()


# --compile on decoding commands: torch.compile of the decoder step


def _tiny_decoder(tiny_config, kind, rows):
    """A tiny autoencoder's decoder and ``rows`` random codes for it."""
    config = tiny_config("model.latent.type=deterministic", f"model.decoder.type={kind}")
    torch.manual_seed(0)
    return build_model(config.model, 50, num_labels=2).eval().decoder, torch.randn(rows, config.model.latent.dim)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gru", "transformer"])
def test_compiled_decoding_gives_the_eager_tokens(tiny_config, kind):
    from textvae.decoding import DecodeOptions, decode

    decoder, z = _tiny_decoder(tiny_config, kind, 7)
    for strategy in ("greedy", "beam"):
        eager, _ = decode(decoder, z, DecodeOptions(strategy=strategy, beam_size=3), max_len=12)
        compiled, _ = decode(decoder, z, DecodeOptions(strategy=strategy, beam_size=3, compile=True), max_len=12)
        assert compiled == eager


def test_a_failing_decoding_compile_warns_once_and_decodes_eagerly(tiny_config, monkeypatch, caplog):
    from textvae.decoding import DecodeOptions, decode

    decoder, z = _tiny_decoder(tiny_config, "gru", 5)
    eager, _ = decode(decoder, z, DecodeOptions(), max_len=10)

    monkeypatch.setattr(torch, "compile", broken_compile)
    with caplog.at_level(logging.WARNING, logger="textvae"):
        for _ in range(2):
            assert decode(decoder, z, DecodeOptions(compile=True), max_len=10)[0] == eager
    warnings = [r.getMessage() for r in caplog.records if "compile" in r.getMessage()]
    assert warnings == ["decoding: torch.compile failed (backend exploded); decoding without it"]


def test_decoding_compile_without_a_backend_is_one_line_before_loading(tmp_path, monkeypatch, capsys):
    from textvae import runtime

    monkeypatch.setattr(runtime, "compile_unavailable", lambda device: "no C++ compiler here")
    assert main(["reconstruct", "--model", str(tmp_path / "no-such-model"), "--input", os.devnull, "--compile"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "textvae: error: --compile: no C++ compiler here; decode without --compile"
