"""Content preservation beyond BLEU: word overlap without stopwords and style words."""

from __future__ import annotations

from typing import Iterable, List, Sequence, Set

from textvae.evaluation.lexicon import STOPWORDS


def content_words(text: str, style_words: Iterable[str] = ()) -> Set[str]:
    ignore = STOPWORDS | set(style_words)
    return {word for word in text.split() if word not in ignore}


def word_overlap(sources: Sequence[str], outputs: Sequence[str], style_words: Iterable[str] = ()) -> List[float]:
    """Unigram Jaccard similarity of content words per sentence pair (1.0 when both have none)."""
    style_words = set(style_words)
    scores = []
    for source, output in zip(sources, outputs):
        a, b = content_words(source, style_words), content_words(output, style_words)
        scores.append(len(a & b) / len(a | b) if a | b else 1.0)
    return scores
