"""Part-of-speech tags for the tasks that use them (the multitask autoencoder's POS decoder, the
syntactic-saliency evaluation, Melnyk et al.'s noun preservation): the Universal POS tag set,
word -> tag lexicons and taggers.

A tag source is named by a spec (:func:`load_tagger`):

- ``factors``: the factor corpus' grammar, which gives every word one part of speech (exact);
- ``spacy:PATH``: a spaCy pipeline that sets ``token.pos_`` (e.g. ``en_core_web_sm`` saved to
  PATH, or its package name where it is installed), run on the sentences' own words, so a word's
  tag depends on its context (``pip install textvae[taggers]``);
- a ``word<TAB>TAG`` file (Universal POS tags) written with any tagger the user has.

A model whose tags live in its vocabulary (one tag per token id) takes the tagger's
:meth:`Tagger.lexicon` over its training sentences: each word's most frequent tag.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

from textvae.errors import TextvaeError, first_line

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X")
SPECIAL_TAGS = ("<pad>", "<unk>", "<s>", "</s>")  # the token ids' specials, in the same order
TAG_IDS = {tag: i for i, tag in enumerate(SPECIAL_TAGS + UPOS)}
UPOS_SET = frozenset(UPOS)


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
        raise TextvaeError(check_tag_spec(spec))
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


LEXICON_SENTENCES = 50_000  # Tagger.lexicon reads at most this many sentences (evenly spaced)


class Tagger(ABC):
    """Tags whitespace-split sentences with Universal POS tags."""

    spec: str

    @abstractmethod
    def tag(self, sentences: Sequence[Sequence[str]]) -> List[tuple]:
        """One tuple of tags per sentence, one tag per word."""

    def lexicon(self, texts: Sequence[str], limit: int = LEXICON_SENTENCES) -> Dict[str, str]:
        """Each word of ``texts`` (at most ``limit`` sentences, evenly spaced) with the tag it gets
        most often in them (ties: the tag seen first)."""
        step = max(1, -(-len(texts) // limit))
        sentences = [text.split() for text in texts[::step]]
        counts: Dict[str, Counter] = defaultdict(Counter)
        for words, tags in zip(sentences, self.tag(sentences)):
            for word, tag in zip(words, tags):
                counts[word][tag] += 1
        return {word: tally.most_common(1)[0][0] for word, tally in counts.items()}


class LexiconTagger(Tagger):
    """One tag per word, whatever its context (X for a word the lexicon does not know)."""

    def __init__(self, lexicon: Dict[str, str], spec: str):
        self.words, self.spec = lexicon, spec

    def tag(self, sentences):
        return [tag_sentence(words, self.words) for words in sentences]

    def lexicon(self, texts=(), limit: int = LEXICON_SENTENCES) -> Dict[str, str]:
        return dict(self.words)


class SpacyTagger(Tagger):
    """A spaCy pipeline's ``token.pos_`` on the given words (spaCy's own tokenizer is bypassed, so
    there is one tag per whitespace-separated word); an empty tag reads as X."""

    def __init__(self, name: str, spec: str):
        try:
            import spacy
        except ImportError:
            raise TextvaeError(f"{spec}: spaCy is not installed; pip install 'textvae[taggers]' (or spacy)") from None
        if ("/" in name or name.startswith(".")) and not Path(name).is_dir():
            raise TextvaeError(f"{spec}: {name} is not a directory with a spaCy pipeline")
        try:
            self.nlp = spacy.load(name)
        except (OSError, ValueError, KeyError) as exc:
            raise TextvaeError(f"{spec}: the spaCy pipeline does not load ({first_line(exc)})") from None
        self.spec = spec
        probe = self.tag([["the", "food", "was", "good", "."]])[0]
        if all(tag == "X" for tag in probe):
            raise TextvaeError(f"{spec}: the spaCy pipeline sets no part-of-speech tags (token.pos_); "
                               "use one with a tagger and attribute ruler, or a morphologizer")

    def tag(self, sentences):
        from spacy.tokens import Doc

        docs = (Doc(self.nlp.vocab, words=list(words)) for words in sentences if words)
        tagged = iter([tuple(token.pos_ if token.pos_ in UPOS_SET else "X" for token in doc)
                       for doc in self.nlp.pipe(docs, batch_size=256)])
        return [next(tagged) if words else () for words in sentences]


def load_tagger(spec: str) -> Tagger:
    """The tag source ``spec`` names (see the module docstring); a bad spec is one line."""
    spec = str(spec)
    if spec.startswith("spacy:"):
        name = spec[len("spacy:"):]
        if not name:
            raise TextvaeError("spacy: needs a pipeline directory or package name, e.g. spacy:/models/en_core_web_sm")
        return SpacyTagger(name, spec)
    return LexiconTagger(load_lexicon(spec), spec)


def check_tag_spec(spec: str):
    """A config-time check of ``spec`` that loads nothing: the problem as a string, or None."""
    spec = str(spec)
    if spec == "factors":
        return None
    if spec.startswith("spacy:"):
        import importlib.util

        name = spec[len("spacy:"):]
        if importlib.util.find_spec("spacy") is None:
            return f"{spec}: spaCy is not installed; pip install 'textvae[taggers]' (or spacy)"
        if not name or (("/" in name or name.startswith(".")) and not Path(name).is_dir()):
            return f"{spec}: not a directory with a spaCy pipeline"
        return None
    if not Path(spec).is_file():
        return (f"POS lexicon {spec} does not exist; give 'factors' (the factor corpus), spacy:PATH (a spaCy "
                "pipeline) or a word<TAB>TAG file written with your tagger")
    return None
