"""Part-of-speech tags for the tasks that predict them (the multitask autoencoder's POS decoder,
the syntactic-saliency evaluation): the Universal POS tag set and word -> tag lexicons.

A lexicon tags each word with one tag, whatever its context: exact on the factor corpus, whose
grammar gives every word one part of speech (``factors``); on a real corpus, a ``word<TAB>TAG``
file the user writes with the tagger of their choice (e.g. each word's most frequent spaCy or NLTK
tag), since no tagger model can be downloaded here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

from textvae.errors import TextvaeError

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X")
SPECIAL_TAGS = ("<pad>", "<unk>", "<s>", "</s>")  # the token ids' specials, in the same order
TAG_IDS = {tag: i for i, tag in enumerate(SPECIAL_TAGS + UPOS)}


def factor_lexicon() -> Dict[str, str]:
    """The factor corpus' grammar as a lexicon: every word it uses, with its part of speech."""
    from textvae.data import factors

    lexicon = {"the": "DET", "not": "PART", ".": "PUNCT", "?": "PUNCT"}
    lexicon.update({word: "AUX" for word in factors.AUX.values()})
    lexicon.update({word: "ADV" for word in factors.FACTORS["intensity"] if word != "plain"})
    lexicon.update({form: "NOUN" for pairs in factors.NOUNS.values() for pair in pairs for form in pair})
    lexicon.update({word: "ADJ" for pairs in factors.ADJECTIVES.values() for pair in pairs for word in pair})
    return lexicon


def load_lexicon(spec: str) -> Dict[str, str]:
    """``factors`` (the factor corpus' grammar) or a ``word<TAB>TAG`` file with Universal POS tags."""
    if spec == "factors":
        return factor_lexicon()
    path = Path(spec)
    if not path.is_file():
        raise TextvaeError(f"POS lexicon {path} does not exist; give 'factors' (the factor corpus) or a "
                           "word<TAB>TAG file written with your tagger")
    lexicon = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2 or cells[1].strip() not in UPOS:
            raise TextvaeError(f"{path} line {number}: expected word<TAB>TAG with a Universal POS tag "
                               f"({', '.join(UPOS)})")
        lexicon[cells[0].strip()] = cells[1].strip()
    if not lexicon:
        raise TextvaeError(f"POS lexicon {path} is empty")
    return lexicon


def tag_sentence(words: Sequence[str], lexicon: Dict[str, str]) -> tuple:
    """The lexicon's tag of each word (X for a word it does not know)."""
    return tuple(lexicon.get(word, "X") for word in words)
