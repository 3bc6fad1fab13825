"""A deterministic synthetic sentiment corpus whose correct style transfer is known.

Real corpora have no ground truth for most sentences, so tests and quick experiments
use this one: every sentence is built from a template, neutral nouns (the content to
keep) and sentiment words that all agree with the label.  Its transfer is the same
sentence with every sentiment word swapped for its antonym, so a model is right
exactly when it flips the sentiment words and keeps the nouns.  Text is lowercased
and space-tokenised like the Yelp release (punctuation is a separate token).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from textvae.errors import TextvaeError
from textvae.io import atomic_directory, atomic_write_text, check_writable

LABEL_NAMES = ("negative", "positive")

# Nouns are grouped so that adjectives fit them ("rude waiter", not "rude soup").
NOUNS = {
    "food": (
        "food", "pizza", "burger", "salad", "pasta", "steak", "coffee", "sushi", "soup",
        "dessert", "bread", "chicken", "breakfast", "beer", "wine", "sandwich", "curry",
        "burrito", "cake", "brunch", "lunch", "dinner", "omelette", "pie",
    ),
    "people": ("service", "staff", "waiter", "waitress", "manager", "owner", "bartender", "host"),
    "place": (
        "room", "bar", "atmosphere", "place", "restaurant", "hotel", "pool", "bed", "music",
        "location", "table", "bathroom", "lobby", "decor", "patio", "view",
    ),
}

# (positive, negative) antonym pairs; every word occurs in exactly one pair.
ADJECTIVES = {
    "any": (
        ("good", "bad"), ("great", "terrible"), ("amazing", "awful"), ("excellent", "horrible"),
        ("wonderful", "dreadful"), ("fantastic", "mediocre"), ("perfect", "poor"),
    ),
    "food": (
        ("delicious", "bland"), ("tasty", "tasteless"), ("fresh", "stale"),
        ("flavorful", "greasy"), ("yummy", "disgusting"),
    ),
    "people": (
        ("friendly", "rude"), ("helpful", "unhelpful"), ("attentive", "careless"),
        ("polite", "dismissive"), ("professional", "unprofessional"),
    ),
    "place": (
        ("clean", "dirty"), ("comfortable", "uncomfortable"), ("quiet", "noisy"),
        ("spacious", "cramped"), ("lovely", "ugly"),
    ),
}
VERBS = (("love", "hate"), ("like", "dislike"), ("adore", "despise"))
PAST_VERBS = (("loved", "hated"), ("enjoyed", "disliked"), ("liked", "regretted"))
FEELINGS = (("happy", "unhappy"), ("pleased", "disappointed"), ("impressed", "unimpressed"))
ADVERBS = (("definitely", "never"), ("gladly", "reluctantly"))
INTENSIFIERS = ("very", "really", "so", "quite", "extremely", "pretty")

# Slots: {noun}, {noun2}, {noun3}: distinct nouns; {adj}, {adj2}, {adj3}: adjectives for
# the noun with the same number; {verb}, {past}, {feeling}, {adverb}: sentiment words;
# {int}: a neutral intensifier.
TEMPLATES = (
    "the {noun} was {adj} .",
    "the {noun} is {int} {adj} .",
    "the {noun} here is {adj} .",
    "my {noun} was {int} {adj} .",
    "the {noun} is {int} {adj} and the {noun2} is {adj2} .",
    "the {noun} was {adj} and the {noun2} was {int} {adj2} .",
    "the {noun} was {adj} and even the {noun2} was {adj2} .",
    "i {verb} the {noun} here .",
    "i {verb} the {noun} and the {noun2} .",
    "i {verb} this place , the {noun} is {adj} .",
    "we {past} the {noun} , the {noun2} was {adj2} .",
    "{adj} {noun} , {adverb} coming back .",
    "{int} {adj} {noun} and {adj2} {noun2} .",
    "{adj} {noun} , {adj2} {noun2} , {adj3} {noun3} .",
    "i was {int} {feeling} with the {noun} .",
    "the {noun} was {adj} , i will {adverb} come back .",
    "this place has {adj} {noun} and {adj2} {noun2} .",
    "everything was {adj} , especially the {noun} .",
    "i would {adverb} recommend the {noun} .",
    "we were {feeling} with the {noun} and the {noun2} .",
)

_SLOT = re.compile(r"\{(\w+)\}")
_WORD_LISTS = {"verb": VERBS, "past": PAST_VERBS, "feeling": FEELINGS, "adverb": ADVERBS}


@dataclass(frozen=True)
class SyntheticExample:
    """A sentence, its label, its ground-truth transfer and the words that make it so."""

    text: str
    label: int
    transferred: str
    nouns: tuple[str, ...]
    style_words: tuple[str, ...]


def _example(rng: random.Random, label: int) -> SyntheticExample:
    """Fill one random template; ``label`` picks the side of every antonym pair."""
    template = rng.choice(TEMPLATES)
    categories = list(NOUNS)
    nouns: dict[str, tuple[str, str]] = {}  # slot number -> (noun, category)
    for number in ("", "2", "3"):
        if "{noun" + number + "}" in template:
            taken = {noun for noun, _ in nouns.values()}
            category = rng.choice(categories)
            noun = rng.choice([n for n in NOUNS[category] if n not in taken])
            nouns[number] = (noun, category)
    text, transferred, style_words, kept = [], [], [], []
    for token in template.split():
        slot = _SLOT.fullmatch(token)
        if slot is None:
            text.append(token)
            transferred.append(token)
            continue
        name = slot.group(1)
        if name.startswith("noun"):
            noun = nouns[name[4:]][0]
            text.append(noun)
            transferred.append(noun)
            kept.append(noun)
        elif name == "int":
            word = rng.choice(INTENSIFIERS)
            text.append(word)
            transferred.append(word)
        else:
            if name.startswith("adj"):
                category = nouns[name[3:]][1]
                pairs = ADJECTIVES["any"] + ADJECTIVES[category]
            else:
                pairs = _WORD_LISTS[name]
            positive, negative = rng.choice(pairs)
            word, antonym = (positive, negative) if label == 1 else (negative, positive)
            text.append(word)
            transferred.append(antonym)
            style_words.append(word)
    return SyntheticExample(" ".join(text), label, " ".join(transferred), tuple(kept), tuple(style_words))


def style_pairs() -> list[tuple[str, str]]:
    """Every antonym pair of the templates, (positive, negative)."""
    pairs = [pair for group in ADJECTIVES.values() for pair in group]
    for group in (VERBS, PAST_VERBS, FEELINGS, ADVERBS):
        pairs.extend(group)
    return pairs


STYLE_WORDS = ({negative for _, negative in style_pairs()}, {positive for positive, _ in style_pairs()})  # by label


def transfer_truth(examples: Sequence[SyntheticExample], outputs: Sequence[str]) -> tuple[int, int]:
    """``(flipped, kept)`` for ``outputs``, the transfers of ``examples`` into the other style:
    flipped counts outputs with a target-style word and no source-style word, kept those with every
    noun of their source (the corpus' ground truth, for scoring a model without a judge)."""
    flipped = kept = 0
    for example, output in zip(examples, outputs):
        words = set(output.split())
        flipped += bool(words & STYLE_WORDS[1 - example.label]) and not words & STYLE_WORDS[example.label]
        kept += all(noun in words for noun in example.nouns)
    return flipped, kept


def generate(n: int, seed: int = 0) -> list[SyntheticExample]:
    """``n`` distinct examples with alternating labels 0, 1, 0, ... (so balanced).

    Deterministic for ``(n, seed)``, and ``generate(n)`` is a prefix of ``generate(m)``
    for ``m > n``, which keeps test and dev sets fixed when the train size changes.
    """
    if n < 0:
        raise TextvaeError(f"cannot generate {n} synthetic sentences; pass a count of 0 or more")
    rng = random.Random(seed)
    seen: set[str] = set()
    examples: list[SyntheticExample] = []
    attempts = 0
    while len(examples) < n:
        attempts += 1
        if attempts > 20 * n + 1000:
            raise TextvaeError(
                f"could only make {len(examples)} distinct synthetic sentences, not {n}; ask for fewer"
            )
        example = _example(rng, len(examples) % 2)
        if example.text not in seen:
            seen.add(example.text)
            examples.append(example)
    return examples


def synthetic_splits(
    n_train: int = 20000, n_dev: int = 1000, n_test: int = 1000, seed: int = 0
) -> dict[str, list[SyntheticExample]]:
    """Train/dev/test splits with no sentence shared between them."""
    examples = generate(n_test + n_dev + n_train, seed)
    return {
        "train": examples[n_test + n_dev:],
        "dev": examples[n_test:n_test + n_dev],
        "test": examples[:n_test],
    }


def write_synthetic_corpus(
    dest: Union[str, Path],
    n_train: int = 20000,
    n_dev: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Write the corpus in the release format plus ``reference.{split}.{label}`` ground truth.

    Line i of ``reference.test.0`` is the correct transfer of line i of ``test.0``.
    """
    dest = check_writable(dest, force)
    splits = synthetic_splits(n_train, n_dev, n_test, seed)
    with atomic_directory(dest) as tmp:
        for split, examples in splits.items():
            for label in range(len(LABEL_NAMES)):
                chosen = [e for e in examples if e.label == label]
                atomic_write_text(tmp / f"{split}.{label}", "".join(e.text + "\n" for e in chosen))
                atomic_write_text(
                    tmp / f"reference.{split}.{label}", "".join(e.transferred + "\n" for e in chosen)
                )
        names = {str(label): name for label, name in enumerate(LABEL_NAMES)}
        atomic_write_text(tmp / "labels.json", json.dumps(names, indent=2) + "\n")
    return dest
