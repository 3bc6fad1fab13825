"""Style guidance (textvae.decoding.guidance) on the back-translation model's decoder."""

import os

import pytest
import torch

from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.decoding import DecodeOptions, decode
from textvae.decoding.guidance import GuidedDecoder
from textvae.models import build_model

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
SOURCES = [[5, 6, 7, 8], [9, 10], [11, 12, 13], [14, 15, 16, 17, 18]]


def _model(backbone: str, styles: int = 2):
    config = load_recipe(os.path.join(RECIPES, f"synthetic_ibt_{backbone}.yaml"),
                         ["model.embedding_dim=32", "model.encoder.hidden_size=32", "model.decoder.hidden_size=32",
                          "model.encoder.ff_size=64", "model.decoder.ff_size=64"])
    torch.manual_seed(0)
    model = build_model(config.model, 40, num_labels=styles).eval()
    with torch.no_grad():  # distinct styles, so that guidance has a difference to follow
        model.styles.weight.normal_(0.0, 2.0)
    return model


def _plan(model, target, strength):
    (rows, decoder, context), = model.transfer_plan(collate(SOURCES), target, strength)
    return decoder, context


def _first_step(decoder, context):
    state = decoder.initial_state(context)
    logits, _ = decoder.step(state, torch.full((len(SOURCES),), 1, dtype=torch.long))
    return torch.log_softmax(logits.float(), -1)


@pytest.mark.parametrize("backbone", ["transformer", "gru"])
@torch.no_grad()
def test_guided_step_is_the_target_pushed_away_from_the_other_style(backbone):
    model = _model(backbone)
    decoder, context = _plan(model, 1, 1.0)
    assert decoder is model.decoder  # strength 1: plain decoding, no second pass
    target = _first_step(model.decoder, context)
    other = _first_step(*_plan(model, 0, 1.0))
    guided, packed = _plan(model, 1, 2.5)
    assert isinstance(guided, GuidedDecoder) and guided.weight == 1.5
    logits, _ = guided.step(guided.initial_state(packed), torch.full((len(SOURCES),), 1, dtype=torch.long))
    assert torch.allclose(logits, target + 1.5 * (target - other), atol=1e-4)


@pytest.mark.parametrize("backbone", ["transformer", "gru"])
@pytest.mark.parametrize("strategy", ["greedy", "beam"])
@torch.no_grad()
def test_strength_zero_decodes_the_other_style_and_two_moves_away_from_it(backbone, strategy):
    model = _model(backbone)
    options = DecodeOptions(strategy=strategy, beam_size=3, n_best=3 if strategy == "beam" else 1, max_len=12)
    plain_other, other_scores = decode(*_plan(model, 0, 1.0), options)
    guided_zero, zero_scores = decode(*_plan(model, 1, 0.0), options)  # w = -1: exactly the other style's log-probs
    assert guided_zero == plain_other
    if strategy == "beam":  # beam states reordered through select, scores as the plain decoder's
        assert torch.allclose(zero_scores, other_scores, atol=1e-4)
    plain, _ = decode(*_plan(model, 1, 1.0), options)
    pushed, _ = decode(*_plan(model, 1, 3.0), options)
    assert pushed != plain  # the untrained model's styles differ, so a strong push changes the output


@torch.no_grad()
def test_three_styles_push_away_from_the_mean_of_the_other_two():
    model = _model("gru", styles=3)
    target = _first_step(*_plan(model, 2, 1.0))
    others = (_first_step(*_plan(model, 0, 1.0)) + _first_step(*_plan(model, 1, 1.0))) / 2
    guided, packed = _plan(model, 2, 2.0)
    assert guided.parts == 3
    logits, _ = guided.step(guided.initial_state(packed), torch.full((len(SOURCES),), 1, dtype=torch.long))
    assert torch.allclose(logits, 2 * target - others, atol=1e-4)


def test_guidance_needs_another_style():
    with pytest.raises(ValueError, match="other style"):
        GuidedDecoder(torch.nn.Identity(), 1.0, 0)
