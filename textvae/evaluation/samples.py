"""How good a model's prior samples are: forward and reverse perplexity (Zhao et al. 2018, as in
"Adversarially regularized autoencoders", after Cífka et al.'s reverse PPL).

Forward PPL: the corpus' fluency LM (trained on real training sentences) scores the samples, low
when they read like the corpus. Reverse PPL: an LM of the same kind trained on the samples scores
the corpus' real test sentences, low only when the samples also cover the corpus' variety (a
model that repeats a few fluent sentences gets a good forward and a bad reverse PPL). Both LMs
are textvae's corpus GRU LM (:mod:`textvae.evaluation.fluency`), where the paper used KenLM
n-gram models; the numbers compare between textvae models, not with the paper's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional

import torch

from textvae.errors import TextvaeError
from textvae.evaluation.fluency import FluencySettings, cached_corpus_lm


def sample_perplexities(model, corpus, train: Callable, n: int = 10000, split: str = "test",
                        settings: FluencySettings = FluencySettings(), seed: int = 0,
                        cache_dir: Optional[Path] = None, **options) -> Dict[str, object]:
    """Forward and reverse PPL of ``n`` sentences decoded from ``model``'s prior (a loaded
    :class:`textvae.api.TextModel` with ``has_prior``); ``train`` trains the LMs (e.g.
    :func:`textvae.training.train`); ``options`` are decoding options."""
    if not model.model.has_prior:
        raise TextvaeError(f"model {model.path} has no prior to sample from")
    if n < 10:
        raise TextvaeError(f"--samples must be at least 10, got {n}")
    if split not in corpus.datasets or "train" not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} needs a train and a {split} split")
    codes = model.model.prior_codes(n, torch.Generator().manual_seed(seed)).cpu()
    samples = [s for s in model.decode(codes, **options) if s.strip()]
    if len(samples) < 10:
        raise TextvaeError(f"only {len(samples)} of {n} samples are non-empty; too few to train an LM on")
    forward, _ = cached_corpus_lm(corpus, settings, cache_dir=cache_dir, train=train)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "samples"
        root.mkdir()
        held = max(1, len(samples) // 20)  # a dev split for the sample LM's training curve
        (root / "train.0").write_text("".join(s + "\n" for s in samples[held:]), encoding="utf-8")
        (root / "dev.0").write_text("".join(s + "\n" for s in samples[:held]), encoding="utf-8")
        from textvae.data.corpus import load_corpus

        reverse, _ = cached_corpus_lm(load_corpus(str(root)), settings, cache_dir=Path(tmp) / "lm", train=train)
        reverse_ppl = reverse.perplexity(corpus.texts(split))
    return {"samples": len(samples), "distinct": len(set(samples)) / len(samples),
            "forward_ppl": forward.perplexity(samples), "reverse_ppl": reverse_ppl,
            "real_ppl": forward.perplexity(corpus.texts(split)), "examples": samples[:10]}
