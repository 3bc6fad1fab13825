"""Transfer quality during training: judge accuracy and self-BLEU of dev transfers.

Style-transfer models (those that declare ``can_transfer``) get these metrics at every dev
evaluation, so that ``metrics.jsonl`` holds the training curve (accuracy and self-BLEU against
time) and early stopping can use them. The judge is the evaluation suite's cached fastText
judge; the sentences are a fixed random subset of the dev split, each sent to another style.
"""

from __future__ import annotations

import random
from typing import Callable, Dict, Optional

from textvae.evaluation.bleu import corpus_bleu


def transfer_evaluator(corpus, tokenizer, config, device, limit: int, fluency_lm=None) -> Optional[Callable]:
    """``evaluate(model) -> {"transfer_acc", "transfer_self_bleu"}``, or None without a dev split;
    with a ``fluency_lm`` (see :mod:`textvae.evaluation.fluency`) also ``transfer_ppl_ratio``, the
    outputs' perplexity over the sources'."""
    if limit <= 0 or "dev" not in corpus.datasets or len(corpus.label_names) < 2:
        return None
    from textvae.data.batching import text_batches
    from textvae.evaluation.judge import cached_judge
    from textvae.transfer import transfer_sentences

    judge, _ = cached_judge(corpus)
    texts, labels = corpus.texts("dev"), corpus.labels("dev")
    rng = random.Random(config.seed)
    keep = sorted(rng.sample(range(len(texts)), min(limit, len(texts))))
    k = len(corpus.label_names)
    targets = [(labels[i] + rng.randrange(1, k)) % k for i in keep]

    def evaluate(model, **options) -> Dict[str, float]:
        """``options``: transfer keywords (``strength``, decoding options)."""
        cut = min(filter(None, (config.data.max_tokens, model.input_limit())))

        def batches(sentences, size):
            return text_batches(tokenizer, sentences, device, cut, max_sentences=size)

        outputs = [""] * len(keep)
        for target in sorted(set(targets)):
            rows = [j for j, t in enumerate(targets) if t == target]
            transferred = transfer_sentences(model, tokenizer, corpus.label_names, [texts[keep[j]] for j in rows],
                                             corpus.label_names[target], batches, **options)
            for j, out in zip(rows, transferred):
                outputs[j] = out
        predicted = judge.predict(outputs)
        scores = {"transfer_acc": sum(p == t for p, t in zip(predicted, targets)) / len(targets),
                  "transfer_self_bleu": corpus_bleu(outputs, [[texts[i] for i in keep]])["bleu"]}
        if fluency_lm is not None:
            scores["transfer_ppl_ratio"] = fluency_lm.perplexity(outputs) / source_ppl
        return scores

    source_ppl = fluency_lm.perplexity([texts[i] for i in keep]) if fluency_lm is not None else None

    return evaluate
