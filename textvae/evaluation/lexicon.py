"""Style words mined from a labelled corpus, and the stopword list content measures ignore.

Style words are those whose frequency differs most between labels, by the log-odds ratio
with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008, "Fightin' Words"),
per word and label (that label against all others). A word is a style word when the effect
is both large (the smoothed log-odds ratio ``delta``, default > 1.5: about 4.5 times as likely
under the label) and significant (its z-score > 3). The z-score alone is not enough on a big
corpus: frequent neutral nouns ("food", "staff") reach z > 40 with a small effect.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Dict, List, Sequence, Set, Tuple

# A compact English stopword list (function words, pronouns, auxiliaries, clitics as the
# Yelp/Amazon releases tokenise them). Sentiment-bearing negations are kept out on purpose.
STOPWORDS: Set[str] = set("""
a an the and or but if then else so than too very of at by for with about against between into through
during before after above below to from up down in out on off over under again further once here there
when where why how all any both each few more most other some such only own same just also now ever
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
herself it its itself they them their theirs themselves what which who whom this that these those am is
are was were be been being have has had having do does did doing will would shall should can could may
might must 's 're 've 'm 'll 'd s re ve m ll d t . , ! ? ; : ( ) " ' - -- ... $ num_num
""".split())


def log_odds(texts: Sequence[str], labels: Sequence[int], prior_strength: float = 1000.0
             ) -> Dict[int, Dict[str, Tuple[float, float]]]:
    """``(delta, z)`` of every word for every label (label vs. the rest): the smoothed log-odds
    ratio and its z-score; large means typical of the label."""
    counts: Dict[int, Counter] = {}
    for text, label in zip(texts, labels):
        counts.setdefault(label, Counter()).update(text.split())
    total = Counter()
    for counter in counts.values():
        total.update(counter)
    n_total = sum(total.values())
    scores: Dict[int, Dict[str, float]] = {}
    for label, mine in counts.items():
        rest = total - mine
        n_mine, n_rest = sum(mine.values()), sum(rest.values())
        table = {}
        for word, background in total.items():
            alpha = prior_strength * background / n_total
            a, b = mine[word] + alpha, rest[word] + alpha
            delta = math.log(a / (n_mine + prior_strength - a)) - math.log(b / (n_rest + prior_strength - b))
            table[word] = (delta, delta / math.sqrt(1.0 / a + 1.0 / b))
        scores[label] = table
    return scores


def style_lexicon(texts: Sequence[str], labels: Sequence[int], min_log_odds: float = 1.5,
                  min_z: float = 3.0, min_count: int = 5) -> Dict[int, List[Tuple[str, float]]]:
    """Words typical of each label as ``(word, delta)``, strongest first: log-odds ratio above
    ``min_log_odds``, z-score above ``min_z``, seen at least ``min_count`` times, not a stopword."""
    frequency = Counter(word for text in texts for word in text.split())
    lexicon = {}
    for label, table in log_odds(texts, labels).items():
        words = [(w, delta) for w, (delta, z) in table.items()
                 if delta > min_log_odds and z > min_z and frequency[w] >= min_count and w not in STOPWORDS]
        lexicon[label] = sorted(words, key=lambda item: -item[1])
    return lexicon


def style_words(lexicon: Dict[int, List[Tuple[str, float]]]) -> Set[str]:
    return {word for words in lexicon.values() for word, _ in words}
