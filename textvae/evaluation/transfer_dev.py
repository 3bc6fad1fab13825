"""Transfer quality during training: judge accuracy and self-BLEU of dev transfers.

Style-transfer models (those that declare ``can_transfer``) get these metrics at every dev
evaluation, so that ``metrics.jsonl`` holds the training curve (accuracy and self-BLEU against
time) and early stopping can use them. The judge is the evaluation suite's cached fastText
judge; the sentences are a fixed random subset of the dev split, each sent to another style.
"""

from __future__ import annotations

import random
from typing import Callable, Dict, List, Optional

from textvae.evaluation.bleu import corpus_bleu


class DevSample:
    """The fixed random subset of a split (``limit`` sentences, drawn with ``seed``) that the
    training curve and ``textvae tune`` transfer, each sentence sent to another style (also drawn),
    and how transfers of it are scored: the corpus' cached fastText judge, self-BLEU against the
    sources, and with a ``fluency_lm`` the outputs' perplexity over the sources'."""

    def __init__(self, corpus, seed: int, limit: int, split: str = "dev", fluency_lm=None):
        from textvae.evaluation.judge import cached_judge

        self.label_names = list(corpus.label_names)
        self.judge, _ = cached_judge(corpus)
        texts, labels = corpus.texts(split), corpus.labels(split)
        rng = random.Random(seed)
        keep = sorted(rng.sample(range(len(texts)), min(limit, len(texts))))
        k = len(self.label_names)
        self.targets = [(labels[i] + rng.randrange(1, k)) % k for i in keep]
        self.sources = [texts[i] for i in keep]
        self.fluency_lm = fluency_lm
        self.source_ppl = fluency_lm.perplexity(self.sources) if fluency_lm is not None else None

    def groups(self):
        """``(target style name, rows)`` for each target style, rows in sample order."""
        for target in sorted(set(self.targets)):
            yield self.label_names[target], [j for j, t in enumerate(self.targets) if t == target]

    def transfer(self, fn) -> List[str]:
        """Outputs in sample order from ``fn(sources, to) -> outputs`` called once per target style."""
        outputs = [""] * len(self.sources)
        for to, rows in self.groups():
            for j, out in zip(rows, fn([self.sources[j] for j in rows], to)):
                outputs[j] = out
        return outputs

    def score(self, outputs: List[str]) -> Dict[str, float]:
        """``transfer_acc``, ``transfer_self_bleu`` (and ``transfer_ppl_ratio``) of outputs in sample order."""
        predicted = self.judge.predict(outputs)
        scores = {"transfer_acc": sum(p == t for p, t in zip(predicted, self.targets)) / len(self.targets),
                  "transfer_self_bleu": corpus_bleu(outputs, [self.sources])["bleu"]}
        if self.fluency_lm is not None:
            scores["transfer_ppl_ratio"] = self.fluency_lm.perplexity(outputs) / self.source_ppl
        return scores


def transfer_evaluator(corpus, tokenizer, config, device, limit: int, fluency_lm=None) -> Optional[Callable]:
    """``evaluate(model, **transfer options) -> {"transfer_acc", "transfer_self_bleu"}`` on the
    :class:`DevSample`, or None without a dev split; with a ``fluency_lm`` (see
    :mod:`textvae.evaluation.fluency`) also ``transfer_ppl_ratio``."""
    if limit <= 0 or "dev" not in corpus.datasets or len(corpus.label_names) < 2:
        return None
    from textvae.data.batching import text_batches
    from textvae.transfer import transfer_sentences

    sample = DevSample(corpus, config.seed, limit, fluency_lm=fluency_lm)

    def evaluate(model, **options) -> Dict[str, float]:
        cut = min(filter(None, (config.data.max_tokens, model.input_limit())))

        def batches(sentences, size):
            return text_batches(tokenizer, sentences, device, cut, max_sentences=size)

        return sample.score(sample.transfer(
            lambda sources, to: transfer_sentences(model, tokenizer, sample.label_names, sources, to, batches,
                                                   **options)))

    return evaluate
