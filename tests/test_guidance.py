"""Style guidance (textvae.decoding.guidance) on the back-translation model's decoder."""

import os

import pytest
import torch

from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.decoding import DecodeOptions, decode
from textvae.data.tokenizer import EOS_ID
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


class _TwoStates:
    """Guidance the plain way, to check GuidedDecoder against: the target's and the other style's
    decoder states side by side in one dict, each stepped and selected on its own."""

    static_steps, max_length = False, None

    def __init__(self, decoder, weight):
        self.decoder, self.weight = decoder, weight

    @staticmethod
    def pack(target, other):
        return {**{f"t:{k}": v for k, v in target.items()}, **{f"o:{k}": v for k, v in other.items()}}

    @staticmethod
    def _part(state, tag):
        return {k[2:]: v for k, v in state.items() if k.startswith(tag)}

    @staticmethod
    def _join(target, other):
        return _TwoStates.pack(target, other)

    def initial_state(self, codes, cache=True, static=False):
        return self._join(*(self.decoder.initial_state(self._part(codes, tag), cache=cache) for tag in ("t:", "o:")))

    def step(self, state, last_tokens):
        (lt, st), (lo, so) = (self.decoder.step(self._part(state, tag), last_tokens) for tag in ("t:", "o:"))
        t, o = torch.log_softmax(lt.float(), -1), torch.log_softmax(lo.float(), -1)
        return t + self.weight * (t - o), self._join(st, so)

    def select(self, state, index):
        return self._join(*(self.decoder.select(self._part(state, tag), index) for tag in ("t:", "o:")))


class _EndsEarly:
    """The decoder, with EOS made certain once a row has written as many tokens as its source has
    (an untrained decoder's outputs all run to the length limit): rows finish at different steps,
    and the countdown is state that every select must carry along."""

    static_steps, max_length = False, None

    def __init__(self, decoder):
        self.decoder = decoder

    def initial_state(self, context, cache=True, static=False):
        return {**self.decoder.initial_state(context, cache=cache), "left": context["mask"].sum(1).float()}

    def step(self, state, last_tokens):
        left = state["left"] - 1
        logits, state = self.decoder.step({k: v for k, v in state.items() if k != "left"}, last_tokens)
        return logits.index_add(1, torch.tensor([EOS_ID]), 50.0 * (left[:, None] <= 0).float()), {**state, "left": left}

    def select(self, state, index):
        return self.decoder.select(state, index)


@pytest.mark.parametrize("backbone", ["transformer", "gru"])
@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
@torch.no_grad()
def test_guided_decoding_equals_two_decoders_stepped_side_by_side(backbone, strategy):
    """Every step and every select (beams reordered, finished rows dropped, batches chunked) of the
    one-call guided decoder matches stepping the two styles' decoders separately."""
    model = _model(backbone)
    target, other = _plan(model, 1, 1.0)[1], _plan(model, 0, 1.0)[1]
    decoder = _EndsEarly(model.decoder)
    options = DecodeOptions(strategy=strategy, beam_size=3, n_best=3 if strategy == "beam" else 1, max_len=12,
                            batch_size=3, seed=0)
    guided, scores = decode(GuidedDecoder(decoder, 2.0, 1), GuidedDecoder.pack(target, [other]), options)
    reference, reference_scores = decode(_TwoStates(decoder, 2.0), _TwoStates.pack(target, other), options)
    assert guided == reference
    assert len({len(row[0]) for row in guided}) > 1  # finished rows left the batch at different steps
    if strategy == "beam":
        assert torch.allclose(scores, reference_scores, atol=1e-4)


def test_guidance_needs_another_style():
    with pytest.raises(ValueError, match="other style"):
        GuidedDecoder(torch.nn.Identity(), 1.0, 0)
