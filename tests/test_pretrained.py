"""The pretrained (Optimus-style) backbone, on tiny random `transformers` models saved to disk."""

import torch

import textvae
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.data.hf_tokenizer import HFTokenizer
from textvae.data.tokenizer import EOS_ID
from textvae.models import build_model
from textvae.training import train
from tests.conftest import TEXTS, TINY

def _overrides(root, *extra):
    return ["model.type=pretrained", f"model.pretrained.encoder={root / 'bert'}",
            f"model.pretrained.decoder={root / 'gpt'}", "model.latent.type=gaussian", "model.latent.dim=8", *extra]


def test_tokenizer_keeps_textvae_special_ids(tiny_models):
    tok = HFTokenizer.from_pretrained(tiny_models / "gpt")
    ids = tok.encode("the food was great .")
    assert min(ids) >= 4 and tok.decode(ids + [EOS_ID, 9]) == "the food was great ."
    model_ids = tok.to_model_ids(torch.tensor([[2] + ids + [3, 0]]))
    eos = tok.hf.eos_token_id
    assert model_ids[0, 0] == eos and model_ids[0, -2] == eos and model_ids[0, 1] == ids[0] - 4


def test_pretrained_vae_memorises_a_batch(tiny_models):
    config = load_recipe(None, _overrides(tiny_models, "model.latent.type=deterministic"))
    tok = HFTokenizer.from_pretrained(tiny_models / "gpt")
    torch.manual_seed(0)
    model = build_model(config.model, len(tok), tokenizer=tok)
    batch = collate(tok.encode(TEXTS[:4]))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(500):
        optimizer.zero_grad()
        model(batch)["loss"].backward()
        optimizer.step()
    model.eval()
    decoded = model.reconstruct(batch, max_len=int(batch.lengths.max()) + 3)
    # at least 3 of the 4 exactly (two-thread float sums differ from run to run at the last bits)
    assert sum(a == b for a, b in zip(tok.decode(decoded.tolist()), TEXTS[:4])) >= 3


def test_pretrained_vae_trains_saves_and_reloads(tiny_models, tmp_path):
    general = [o for o in TINY if not o.startswith("model.")]  # the backbones set the model's sizes
    config = load_recipe(None, general + _overrides(tiny_models, "train.max_steps=4", "train.eval_every=2",
                                                    "model.decoder.word_dropout.value=0.1"))
    result = train(config, tmp_path / "run")
    assert result["step"] == 4 and "elbo" in result["dev"]
    model = textvae.load(tmp_path / "run", device="cpu")
    assert isinstance(model.tokenizer, HFTokenizer)
    assert (tmp_path / "run" / "model" / "decoder" / "config.json").is_file()
    codes = model.encode(TEXTS[:3])
    assert codes.shape == (3, 8)
    assert len(model.reconstruct(TEXTS[:3])) == 3


def test_pretrained_language_model_without_a_latent(tiny_models):
    """``latent: none`` wraps the causal LM alone: no code to encode into, a loss, sentence NLLs."""
    config = load_recipe(None, ["model.type=pretrained", f"model.pretrained.decoder={tiny_models / 'gpt'}",
                                "model.latent.type=none"])
    tok = HFTokenizer.from_pretrained(tiny_models / "gpt")
    model = build_model(config.model, len(tok), tokenizer=tok).eval()
    batch = collate(tok.encode(TEXTS[:3]))
    assert model.is_language_model and model.latent_dim == 0
    assert model.encode(batch.src, batch.lengths)["mean"].shape == (3, 0)
    assert torch.isfinite(model(batch)["loss"])
