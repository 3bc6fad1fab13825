"""The guide's recipe-key table and the contributing guide stay in step with the code."""

import os

from textvae.config import DataConfig, TokenizerConfig, TrainConfig, recipe_keys
from textvae.models import MODELS

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")
BUILT_IN = sorted(name for name, cls in MODELS.items() if cls.__module__.startswith("textvae.models."))


def expected_rows():
    rows = [f"| `data` | {recipe_keys(DataConfig)} |", f"| `tokenizer` | {recipe_keys(TokenizerConfig)} |"]
    rows += [f"| `model` (`type: {name}`) | {recipe_keys(MODELS[name].config_class)} |" for name in BUILT_IN]
    return rows + [f"| `train` | {recipe_keys(TrainConfig)} |"]


def test_guide_lists_every_recipe_key_of_every_section_and_model():
    lines = set(open(os.path.join(DOCS, "guide.md"), encoding="utf-8").read().splitlines())
    missing = [row for row in expected_rows() if row not in lines]
    assert not missing, "docs/guide.md's recipe table is out of date; the rows should read:\n" + "\n".join(missing)


def test_contributing_guide_names_the_files_a_model_touches():
    text = open(os.path.join(DOCS, "contributing.md"), encoding="utf-8").read()
    for needed in ("@register_model", "loss_terms", "LossTerm", "Adversary", "tests/test_contract.py",
                   "recipes/", "textvae/models/"):
        assert needed in text
