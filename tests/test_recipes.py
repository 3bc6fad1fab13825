"""Every recipe in recipes/ loads and trains 20 steps (at its own model sizes, on the synthetic
corpus, with small batches), so no recipe can go stale when a model or its config changes."""

import glob
import os

import pytest

from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.synthetic_mt import write_synthetic_mt
from textvae.training import train

RECIPES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "recipes", "*.yaml")))
QUICK = ["data.path=synthetic:300", "train.max_steps=20", "train.max_minutes=null", "train.max_epochs=null",
         "train.max_sentences=8", "train.max_tokens=256", "train.eval_every=20", "train.checkpoint_every=20",
         "train.eval_max_sentences=16", "train.eval_transfer_sentences=0", "train.early_stopping.metric=null",
         "train.threads=1"]


@pytest.fixture(scope="module")
def pivot_models(tmp_path_factory):
    dest = tmp_path_factory.mktemp("recipe-mt")
    from textvae.data.synthetic import generate

    write_synthetic_mt(dest, [e.text for e in generate(200, seed=1)], steps=5)
    return dest


def test_there_are_recipes():
    assert len(RECIPES) >= 30


def _quick_run(recipe, out, pivot_models):
    """Train ``recipe`` 20 steps into ``out``, first making what it starts from: the run it is
    warm-started from (``train.init_from``, recursively), its reward LM and its distillation pairs,
    each a quick run of the recipe of that name."""
    config = load_recipe(recipe, QUICK)
    here = os.path.dirname(recipe)

    def named(path):
        return os.path.join(here, os.path.basename(path.rstrip("/")) + ".yaml")

    extra = []
    if config.model.type == "bst":  # the recipes name local translation models; use tiny ones
        extra = [f"model.pivot.forward={pivot_models / 'en-pivot'}", f"model.pivot.backward={pivot_models / 'pivot-en'}"]
    reward = getattr(config.model, "reward", None)
    if reward is not None and reward.lm:  # a reward LM: a quick LM of that recipe, one for the whole chain
        lm = out.parent / f"lm-{os.path.basename(reward.lm.rstrip('/'))}"
        if not lm.exists():
            train(load_recipe(named(reward.lm), QUICK), lm)
        extra.append(f"model.reward.lm={lm}")
    if config.train.init_from:  # a warm-started recipe: first a quick run of the recipe it starts from
        source = out.parent / f"{out.name}-source"
        _quick_run(named(config.train.init_from), source, pivot_models)
        extra.append(f"train.init_from={source}")
        distill = getattr(config.model, "distill", None)
        if distill is not None and distill.pairs:  # distillation pairs of the source model
            pairs = out.parent / f"{out.name}-pairs"
            assert main(["distill", "--model", str(source), "--out", str(pairs), "--sentences", "20",
                         "--strategy", "greedy", "--quiet"]) == 0
            extra.append(f"model.distill.pairs={pairs}")
    config = load_recipe(recipe, QUICK + extra)
    return train(config, out)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: os.path.basename(path)[:-5])
def test_recipe_loads_and_trains_20_steps(recipe, pivot_models, tmp_path):
    result = _quick_run(recipe, tmp_path / "run", pivot_models)
    assert result["step"] == 20 and (tmp_path / "run" / "model" / "config.json").is_file()
