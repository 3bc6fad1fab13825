"""BLEU as the style-transfer papers report it.

Corpus BLEU from sacrebleu (Post 2018) against the sources (self-BLEU) or against one or
more human references, with its signature; and the legacy sentence-averaged BLEU that the
Style Transformer evaluator (Dai et al. 2019) used, for comparing with old papers. Inputs
are already in the corpus' tokenisation (see :mod:`textvae.evaluation.normalize`), so
sacrebleu's own tokeniser is switched off.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import sacrebleu

TOKENIZE = "none"  # the texts are tokenised like the corpus already


def corpus_bleu(outputs: Sequence[str], references: Sequence[Sequence[str]]) -> Dict[str, object]:
    """Corpus BLEU of ``outputs`` against reference streams (``references[r][i]`` is the r-th
    reference of sentence i); returns the score and sacrebleu's signature."""
    metric = sacrebleu.BLEU(tokenize=TOKENIZE, force=True)  # tokenised on purpose: no detokenise warning
    score = metric.corpus_score(list(outputs), [list(stream) for stream in references])
    return {"bleu": score.score, "signature": str(metric.get_signature())}


def sentence_bleu_average(outputs: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean of smoothed sentence BLEU (legacy; scores differ from corpus BLEU, do not mix them)."""
    metric = sacrebleu.BLEU(tokenize=TOKENIZE, effective_order=True, force=True)
    scores: List[float] = []
    for i, output in enumerate(outputs):
        refs = [stream[i] for stream in references]
        scores.append(metric.sentence_score(output, refs).score)
    return sum(scores) / max(len(scores), 1)
