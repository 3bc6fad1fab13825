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
from textvae.models.registry import model_class

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


def _flat(tag, context):
    return {f"{tag}:{k}": v for k, v in context.items()} if isinstance(context, dict) else {tag: context}


def _part(packed, tag):
    return packed[tag] if tag in packed else {k[2:]: v for k, v in packed.items() if k.startswith(tag + ":")}


class _TwoStates:
    """Guidance the plain way, to check GuidedDecoder against: the target's and the other style's
    decoder states side by side in one dict, each stepped and selected on its own."""

    static_steps, max_length = False, None

    def __init__(self, decoder, weight):
        self.decoder, self.weight = decoder, weight

    @staticmethod
    def pack(target, other):
        return {**_flat("t", target), **_flat("o", other)}

    def initial_state(self, codes, cache=True, static=False):
        return self.pack(*(self.decoder.initial_state(_part(codes, tag), cache=cache) for tag in "to"))

    def step(self, state, last_tokens):
        (lt, st), (lo, so) = (self.decoder.step(_part(state, tag), last_tokens) for tag in "to")
        t, o = torch.log_softmax(lt.float(), -1), torch.log_softmax(lo.float(), -1)
        return t + self.weight * (t - o), self.pack(st, so)

    def select(self, state, index):
        return self.pack(*(self.decoder.select(_part(state, tag), index) for tag in "to"))


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


def _unpacked(packed, part):
    """One style's context out of GuidedDecoder.pack's ``(N, styles, ...)`` tensors."""
    return {k: v[:, part] for k, v in packed.items()} if isinstance(packed, dict) else packed[:, part]


def _same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in b) if isinstance(b, dict) else torch.equal(a, b)


@pytest.mark.parametrize("name", ["style_seq2seq", "melnyk", "m2", "cross_aligned"])
@pytest.mark.parametrize("strategy", ["greedy", "beam"])
@torch.no_grad()
def test_every_style_conditioned_decoder_is_guided_by_strength(name, strategy):
    """The models whose one decoder is told the style: strength 1 decodes plainly; another strength
    decodes the target's context (the plain one) against the other style's, as two decoders would."""
    config = load_recipe(None, ["data.path=synthetic:200", "tokenizer.type=word", "tokenizer.vocab_size=200",
                                f"model.type={name}", *model_class(name).test_overrides])
    torch.manual_seed(0)
    model = build_model(config.model, 40, num_labels=2).eval()
    assert model.uses_strength
    decoder, plain = _plan(model, 1, 1.0)
    guide, packed = _plan(model, 1, 2.5)
    assert isinstance(guide, GuidedDecoder) and guide.decoder is decoder and guide.weight == 1.5
    target, other = _unpacked(packed, 0), _unpacked(packed, 1)
    assert _same(target, plain) and not _same(other, plain)  # the target's context is the plain one
    options = DecodeOptions(strategy=strategy, beam_size=3, n_best=1, max_len=10, batch_size=3)
    guided_ids, guided_scores = decode(guide, packed, options)
    reference, reference_scores = decode(_TwoStates(decoder, 1.5), _TwoStates.pack(target, other), options)
    assert guided_ids == reference
    if strategy == "beam":
        assert torch.allclose(guided_scores, reference_scores, atol=1e-4)


def test_guidance_needs_another_style():
    with pytest.raises(ValueError, match="other style"):
        GuidedDecoder(torch.nn.Identity(), 1.0, 0)
