"""Style words mined from a labelled corpus, and the stopword list content measures ignore.

Style words are those whose frequency differs most between labels, by the weighted
log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008,
"Fightin' Words"): a z-score per word and label (that label against all others), robust
for rare words because the prior shrinks them towards the corpus-wide rate.
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
             ) -> Dict[int, Dict[str, float]]:
    """z-scores of every word for every label (label vs. the rest); large means typical of the label."""
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
            table[word] = delta / math.sqrt(1.0 / a + 1.0 / b)
        scores[label] = table
    return scores


def style_lexicon(texts: Sequence[str], labels: Sequence[int], threshold: float = 3.0,
                  min_count: int = 3) -> Dict[int, List[Tuple[str, float]]]:
    """Words typical of each label (z > ``threshold``, seen ``min_count`` times), strongest first."""
    frequency = Counter(word for text in texts for word in text.split())
    lexicon = {}
    for label, table in log_odds(texts, labels).items():
        words = [(w, z) for w, z in table.items()
                 if z > threshold and frequency[w] >= min_count and w not in STOPWORDS]
        lexicon[label] = sorted(words, key=lambda item: -item[1])
    return lexicon


def style_words(lexicon: Dict[int, List[Tuple[str, float]]]) -> Set[str]:
    return {word for words in lexicon.values() for word, _ in words}
