"""Content words: what style transfer should keep (not stopwords, not the style words mined from
the labelled training split), as token ids of a model's vocabulary."""

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
