"""A synthetic corpus with known generative factors (issue 24), for measuring disentanglement.

Every sentence is one short review clause built from seven independent factors, each drawn
uniformly, so every combination occurs:

    sentiment   negative / positive      the adjective's polarity ("delicious" / "bland")
    tense       present / past           "is" / "was"
    number      singular / plural        "the pizza is" / "the pizzas are"
    topic       food / people / place    the noun's group (and the adjectives that fit it)
    negation    affirmative / negated    "... is not ..."
    kind        statement / question     "the pizza is good ." / "is the pizza good ?"
    intensity   plain / very / really    an optional intensifier before the adjective

The words within a factor value (which noun, which adjective) are drawn too, so they are nuisance
variation, not factors. Each token's part of speech is recorded (DET, NOUN, AUX, PART, ADV, ADJ,
PUNCT) for the syntactic-saliency work of issue 25. The corpus is written in the release format with
the sentiment as the label (so every textvae model trains on it) plus ``factors.{split}.{label}.jsonl``
next to each split file: per line the sentence, its factor values and its tags. As a corpus
source, ``factors`` / ``factors:N`` is the same corpus in memory (20k or N training sentences).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from textvae.errors import TextvaeError
from textvae.io import atomic_directory, atomic_write_text, check_writable

FACTORS: Dict[str, Tuple[str, ...]] = {
    "sentiment": ("negative", "positive"),
    "tense": ("present", "past"),
    "number": ("singular", "plural"),
    "topic": ("food", "people", "place"),
    "negation": ("affirmative", "negated"),
    "kind": ("statement", "question"),
    "intensity": ("plain", "very", "really"),
}
# (singular, plural) nouns per topic
NOUNS = {
    "food": (("pizza", "pizzas"), ("burger", "burgers"), ("salad", "salads"), ("steak", "steaks"),
             ("soup", "soups"), ("dessert", "desserts"), ("sandwich", "sandwiches"), ("taco", "tacos"),
             ("cake", "cakes"), ("omelette", "omelettes")),
    "people": (("waiter", "waiters"), ("waitress", "waitresses"), ("manager", "managers"), ("owner", "owners"),
               ("bartender", "bartenders"), ("host", "hosts"), ("cook", "cooks"), ("server", "servers")),
    "place": (("room", "rooms"), ("bar", "bars"), ("table", "tables"), ("bathroom", "bathrooms"),
              ("lobby", "lobbies"), ("patio", "patios"), ("bed", "beds"), ("pool", "pools")),
}
# (positive, negative) adjectives per topic
ADJECTIVES = {
    "food": (("delicious", "bland"), ("tasty", "tasteless"), ("fresh", "stale"), ("good", "bad")),
    "people": (("friendly", "rude"), ("helpful", "unhelpful"), ("polite", "dismissive"), ("good", "bad")),
    "place": (("clean", "dirty"), ("quiet", "noisy"), ("spacious", "cramped"), ("good", "bad")),
}
AUX = {("present", "singular"): "is", ("present", "plural"): "are",
       ("past", "singular"): "was", ("past", "plural"): "were"}


@dataclass
class FactorExample:
    text: str
    factors: Dict[str, int]  # factor -> index of its value in FACTORS
    pos: Tuple[str, ...]  # one tag per token


def _example(rng: random.Random, values: Dict[str, str]) -> FactorExample:
    singular, plural = rng.choice(NOUNS[values["topic"]])
    noun = plural if values["number"] == "plural" else singular
    positive, negative = rng.choice(ADJECTIVES[values["topic"]])
    adjective = positive if values["sentiment"] == "positive" else negative
    aux = AUX[(values["tense"], values["number"])]
    tail: List[Tuple[str, str]] = []
    if values["negation"] == "negated":
        tail.append(("not", "PART"))
    if values["intensity"] != "plain":
        tail.append((values["intensity"], "ADV"))
    tail.append((adjective, "ADJ"))
    if values["kind"] == "question":
        tokens = [(aux, "AUX"), ("the", "DET"), (noun, "NOUN")] + tail + [("?", "PUNCT")]
    else:
        tokens = [("the", "DET"), (noun, "NOUN"), (aux, "AUX")] + tail + [(".", "PUNCT")]
    factors = {name: FACTORS[name].index(value) for name, value in values.items()}
    return FactorExample(" ".join(t for t, _ in tokens), factors, tuple(tag for _, tag in tokens))


def generate_factors(n: int, seed: int = 0) -> List[FactorExample]:
    """``n`` examples, every factor drawn uniformly and independently (sentences may repeat: the
    corpus is small, about 23k distinct sentences, and a repeat carries the same factors)."""
    if n < 0:
        raise TextvaeError(f"cannot generate {n} sentences; pass a count of 0 or more")
    rng = random.Random(seed)
    return [_example(rng, {name: rng.choice(values) for name, values in FACTORS.items()}) for _ in range(n)]


def factor_splits(n_train: int = 20000, n_dev: int = 1000, n_test: int = 1000, seed: int = 0
                  ) -> Dict[str, List[FactorExample]]:
    """Train/dev/test examples (test and dev first, so they stay fixed when the train size changes)."""
    examples = generate_factors(n_train + n_dev + n_test, seed)
    return {"test": examples[:n_test], "dev": examples[n_test:n_test + n_dev], "train": examples[n_test + n_dev:]}


def write_factor_corpus(dest: Union[str, Path], n_train: int = 20000, n_dev: int = 1000, n_test: int = 1000,
                        seed: int = 0, force: bool = False) -> Path:
    """The corpus in the release format (label: sentiment) with the factor side files."""
    dest = check_writable(dest, force)
    splits = factor_splits(n_train, n_dev, n_test, seed)
    sentiment = FACTORS["sentiment"]
    with atomic_directory(dest) as tmp:
        for split, chosen in splits.items():
            for label in range(len(sentiment)):
                rows = [e for e in chosen if e.factors["sentiment"] == label]
                atomic_write_text(tmp / f"{split}.{label}", "".join(e.text + "\n" for e in rows))
                atomic_write_text(tmp / f"factors.{split}.{label}.jsonl", "".join(
                    json.dumps({"text": e.text, "factors": e.factors, "pos": list(e.pos)}) + "\n" for e in rows))
        atomic_write_text(tmp / "labels.json", json.dumps(dict(enumerate(sentiment)), indent=2) + "\n")
        atomic_write_text(tmp / "factors.json", json.dumps(FACTORS, indent=2) + "\n")
    return dest


def read_factors(directory: Union[str, Path], split: str = "test", names: Sequence[str] = ()
                 ) -> Tuple[List[str], List[List[int]], List[str]]:
    """``(sentences, factor values per sentence, factor names)`` of a factor corpus' split;
    ``names`` picks factors (default: all). One line when the corpus has no factor labels."""
    memory = re.fullmatch(r"factors(?::(\d+))?", str(directory))
    if memory and not Path(directory).exists():  # the in-memory corpus (data.path factors[:N])
        names = list(names) or list(FACTORS)
        unknown = [n for n in names if n not in FACTORS]
        if unknown:
            raise TextvaeError(f"unknown factor {unknown[0]!r}; this corpus has: {', '.join(FACTORS)}")
        examples = factor_splits(int(memory.group(1) or 20000))[split]
        return [e.text for e in examples], [[e.factors[n] for n in names] for e in examples], names
    directory = Path(directory)
    if not (directory / "factors.json").is_file():
        raise TextvaeError(f"{directory} has no factor labels (factors.json); write a factor corpus with "
                           "textvae data synthetic --factors --dest DIR")
    known = json.loads((directory / "factors.json").read_text(encoding="utf-8"))
    names = list(names) or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TextvaeError(f"unknown factor {unknown[0]!r}; this corpus has: {', '.join(known)}")
    texts, values = [], []
    for file in sorted(directory.glob(f"factors.{split}.*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["text"])
            values.append([row["factors"][n] for n in names])
    if not texts:
        raise TextvaeError(f"{directory} has no factor labels for the {split} split")
    return texts, values, names


_NOUN_TOPIC = {form: (topic, number) for topic, pairs in NOUNS.items() for pair in pairs
               for form, number in zip(pair, ("singular", "plural"))}
_ADJ = {word: (topic, polarity) for topic, pairs in ADJECTIVES.items() for pair in pairs
        for word, polarity in zip(pair, ("positive", "negative"))}
_AUX = {word: key for key, word in AUX.items()}


def read_off_factors(text: str) -> Dict[str, Optional[int]]:
    """The factor values a sentence of the factor corpus' grammar shows, read off its words (None
    for a factor the sentence does not show, e.g. a decoded sentence that left the grammar): the
    "classifier" of the traversal report's factor view, exact on the corpus' own sentences."""
    words = text.split()
    out: Dict[str, Optional[int]] = {name: None for name in FACTORS}
    if not words:
        return out
    out["kind"] = {"?": 1, ".": 0}.get(words[-1])
    out["negation"] = 1 if "not" in words else 0
    out["intensity"] = next((FACTORS["intensity"].index(w) for w in words if w in ("very", "really")), 0)
    aux = next((_AUX[w] for w in words if w in _AUX), None)
    if aux is not None:
        out["tense"] = FACTORS["tense"].index(aux[0])
    noun = next((_NOUN_TOPIC[w] for w in words if w in _NOUN_TOPIC), None)
    if noun is not None:
        out["topic"], out["number"] = FACTORS["topic"].index(noun[0]), FACTORS["number"].index(noun[1])
    adjective = next((_ADJ[w] for w in words if w in _ADJ), None)
    if adjective is not None:
        out["sentiment"] = FACTORS["sentiment"].index(adjective[1])
    return out
