"""Every recipe in recipes/ loads and trains 20 steps (at its own model sizes, on the synthetic
corpus, with small batches), so no recipe can go stale when a model or its config changes."""

import glob
import os

import pytest

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


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: os.path.basename(path)[:-5])
def test_recipe_loads_and_trains_20_steps(recipe, pivot_models, tmp_path):
    config = load_recipe(recipe, QUICK)
    extra = []
    if config.model.type == "bst":  # the recipes name local translation models; use tiny ones
        extra = [f"model.pivot.forward={pivot_models / 'en-pivot'}", f"model.pivot.backward={pivot_models / 'pivot-en'}"]
    if config.train.init_from:  # a warm-started recipe: first a quick run of the recipe it starts from
        source = tmp_path / "source"
        named = os.path.join(os.path.dirname(recipe), os.path.basename(config.train.init_from.rstrip("/")) + ".yaml")
        train(load_recipe(named, QUICK), source)
        extra.append(f"train.init_from={source}")
    config = load_recipe(recipe, QUICK + extra)
    result = train(config, tmp_path / "run")
    assert result["step"] == 20 and (tmp_path / "run" / "model" / "config.json").is_file()
