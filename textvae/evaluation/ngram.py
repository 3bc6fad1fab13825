"""An interpolated modified Kneser-Ney n-gram language model (Chen and Goodman 1998, "An empirical
study of smoothing techniques for language modeling"), the independent fluency measure of
``textvae evaluate transfer``.

The suite's neural fluency LM and the LM that reranks transfers are both GRU language models of
the training split, so a reranked system's neural perplexity is not independent evidence of
fluency; a count-based model of the same split is. Papers report KenLM 5-gram perplexities; KenLM's
estimator (``lmplz``) is a C++ binary that is not on the package registries (the ``kenlm`` wheel
only queries ARPA files), and ``nltk.lm``'s Kneser-Ney scores each token in time proportional to the
vocabulary, hours for a test split. So textvae counts n-grams itself: a few seconds for Yelp's
training split, exact modified Kneser-Ney with three discounts per order estimated from
count-of-counts, continuation counts below the top order (raw counts for n-grams that start a
sentence), and a uniform distribution under the
unigrams that gives unseen words (mapped to ``<unk>``) their mass. The model is cached like the
judge.

Differences from KenLM's ``lmplz``: no pruning, no ``<unk>`` estimated from singletons (here
``<unk>`` takes the uniform share), order 3 by default (short review sentences; 5-grams add memory
for little), and perplexity over tokens including ``</s>``, as KenLM reports it.
"""

from __future__ import annotations

import math
import pickle
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from textvae.evaluation.cache import artefact_dir, cached

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


@dataclass
class NgramSettings:
    order: int = 3


def _discounts(counts: Dict[Tuple[str, ...], int]) -> Tuple[float, float, float]:
    """Modified Kneser-Ney's D1, D2, D3+ from the count-of-counts n1..n4 (Chen and Goodman, eq. 26)."""
    n = Counter(c for c in counts.values() if c <= 4)  # exactly 1, 2, 3 and 4 times
    n1, n2, n3, n4 = (n.get(k, 0) for k in (1, 2, 3, 4))
    if not (n1 and n2 and n3 and n4):  # too little data for the estimate: one absolute discount
        d = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
        return d, d, d
    y = n1 / (n1 + 2 * n2)
    return 1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3


class KneserNeyLM:
    """``KneserNeyLM(sentences, order)``: sentences are whitespace-tokenised strings."""

    name = "Kneser-Ney n-gram"

    def __init__(self, sentences: Sequence[str], order: int = 3):
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        self.vocab = {w for s in sentences for w in s.split()} | {EOS}
        top: Counter = Counter()
        for s in sentences:
            words = [BOS] * (order - 1) + s.split() + [EOS]
            for i in range(order - 1, len(words)):
                top[tuple(words[i - order + 1:i + 1])] += 1
        # counts[k]: k-gram counts used at order k (raw at the top order, continuation counts below)
        counts: List[Dict[Tuple[str, ...], int]] = [dict() for _ in range(order + 1)]
        counts[order] = dict(top)
        for k in range(order - 1, 0, -1):
            continuation: Counter = Counter()
            for gram, c in counts[k + 1].items():
                # one more distinct word before gram[1:]; a gram that starts a sentence can have no
                # word before it, so it keeps its raw count (as KenLM does)
                continuation[gram[1:]] += c if gram[1] == BOS else 1
            counts[k] = dict(continuation)
        self.discounts = [None] + [_discounts(counts[k]) for k in range(1, order + 1)]
        # per context: total count and how many continuations have count 1, 2, 3+
        self.context: List[Dict[Tuple[str, ...], Tuple[int, int, int, int]]] = [dict() for _ in range(order + 1)]
        for k in range(1, order + 1):
            stats: Dict[Tuple[str, ...], List[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for gram, c in counts[k].items():
                entry = stats[gram[:-1]]
                entry[0] += c
                entry[min(c, 3)] += 1
            self.context[k] = {h: tuple(v) for h, v in stats.items()}
        self.counts = counts

    def prob(self, word: str, history: Tuple[str, ...]) -> float:
        """P(word | the last order-1 words of ``history``), interpolated down to the uniform."""
        word = word if word in self.vocab else UNK
        history = tuple(history[len(history) - (self.order - 1):]) if self.order > 1 else ()
        p = 1.0 / (len(self.vocab) + 1)  # order 0: uniform over the vocabulary and <unk>
        for k in range(1, self.order + 1):
            h = history[len(history) - (k - 1):] if k > 1 else ()
            stats = self.context[k].get(h)
            if stats is None:  # unseen context: the lower order as it is
                continue
            total, n1, n2, n3 = stats
            d1, d2, d3 = self.discounts[k]
            c = self.counts[k].get(h + (word,), 0)
            d = 0.0 if c == 0 else d1 if c == 1 else d2 if c == 2 else d3
            gamma = (d1 * n1 + d2 * n2 + d3 * n3) / total
            p = max(c - d, 0.0) / total + gamma * p
        return p

    def sentence_logprob(self, sentence: str) -> Tuple[float, int]:
        """``(natural-log probability, tokens)`` of a sentence, ``</s>`` included."""
        words = [BOS] * (self.order - 1) + sentence.split() + [EOS]
        total = 0.0
        for i in range(self.order - 1, len(words)):
            total += math.log(self.prob(words[i], tuple(words[max(0, i - self.order + 1):i])))
        return total, len(words) - (self.order - 1)

    def perplexity(self, sentences: Sequence[str]) -> float:
        """exp(-mean log-probability per token) over all sentences, ``</s>`` included."""
        logprob, tokens = 0.0, 0
        for s in sentences:
            lp, n = self.sentence_logprob(s)
            logprob, tokens = logprob + lp, tokens + n
        return math.exp(-logprob / max(tokens, 1))


def cached_ngram_lm(corpus, settings: NgramSettings = NgramSettings(), cache_dir: Optional[Path] = None
                    ) -> Tuple[KneserNeyLM, bool]:
    """The corpus' n-gram LM of its training split, estimated once and cached."""
    def build(directory: Path) -> KneserNeyLM:
        lm = KneserNeyLM(corpus.texts("train"), settings.order)
        with open(directory / "ngram.pkl", "wb") as f:
            pickle.dump(lm, f, protocol=pickle.HIGHEST_PROTOCOL)
        return lm

    def load(directory: Path) -> KneserNeyLM:
        with open(directory / "ngram.pkl", "rb") as f:  # written by build above, in textvae's own cache
            return pickle.load(f)

    return cached(artefact_dir("ngram_lm", corpus, settings, cache_dir), "ngram.pkl", build, load,
                  f"the {settings.order}-gram Kneser-Ney LM of {corpus.source} (seconds to a minute)")
