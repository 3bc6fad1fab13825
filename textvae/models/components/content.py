"""Content words: what style transfer should keep (not stopwords, not the style words mined from
the labelled training split; or, with a tagger, the nouns), as token ids of a model's vocabulary."""

from __future__ import annotations

from collections import Counter
from typing import List, Optional


def content_token_ids(data, limit: Optional[int] = None) -> List[int]:
    """The training split's content tokens (``data``: a :class:`textvae.models.base.TrainingData`),
    most frequent first, at most ``limit``: neither special tokens, stopwords nor style words."""
    from textvae.evaluation.lexicon import STOPWORDS, style_lexicon, style_words

    excluded = STOPWORDS | style_words(style_lexicon(data.texts, data.labels))
    counts = Counter(t for ids in data.ids for t in ids)
    chosen = [t for t, _ in counts.most_common() if t >= 4 and data.tokenizer.decode([t]).strip() not in excluded]
    return chosen[:limit] if limit is not None else chosen


NOUN_TAGS = ("NOUN", "PROPN")


def noun_token_ids(data, tagger_spec: str) -> List[int]:
    """The tokens that are whole words tagged as nouns (``NOUN``/``PROPN``, each word's most
    frequent tag over the training split under the tagger ``tagger_spec``; see
    :func:`textvae.data.tags.load_tagger`), most frequent first."""
    from textvae.data.tags import load_tagger

    lexicon = load_tagger(tagger_spec).lexicon(data.texts)
    nouns = {word for word, tag in lexicon.items() if tag in NOUN_TAGS}
    counts = Counter(t for ids in data.ids for t in ids)
    return [t for t, _ in counts.most_common()
            if t >= 4 and data.tokenizer.id_to_piece(t).lstrip("\u2581") in nouns]
