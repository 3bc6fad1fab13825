"""Fluency: perplexity of outputs under a language model.

Papers in this field report perplexities from LMs they never released, so their numbers cannot
be compared. textvae's default LM is trained by textvae itself on the corpus' training split (a
GRU LM over the corpus' words, a fixed number of steps, seeded) and cached like the judge, so
anyone with the same corpus gets the same LM and the same numbers. Evaluation does not train
models itself: the caller passes the trainer in (``train=textvae.training.train``), and a cached
LM needs none. A local ``transformers``
causal LM (GPT-2 style) can be used instead. Perplexity is corpus level: exp of the summed
token NLL over the number of tokens (end of sentence included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

import torch

from textvae.errors import TextvaeError
from textvae.evaluation.cache import artefact_dir, cached
from textvae.objectives.reconstruction import language_model_nll


@dataclass(frozen=True)
class FluencySettings:
    """The corpus LM: word vocabulary, embedding and GRU sizes, and how long it trains."""

    vocab_size: int = 12000
    embedding_dim: int = 256
    hidden_size: int = 256
    steps: int = 2000
    max_sentences: int = 64
    lr: float = 0.002
    seed: int = 0


class CorpusLM:
    """A textvae GRU language model trained on the corpus (see :func:`cached_corpus_lm`)."""

    def __init__(self, bundle, description: str = "textvae GRU LM trained on the corpus"):
        self.model, self.tokenizer = bundle.model, bundle.tokenizer
        self.name = description

    @torch.no_grad()
    def log_likelihood(self, texts: Sequence[str], device: str = "cpu") -> Tuple[float, int]:
        """Summed NLL (nats) of ``texts`` and their number of tokens."""
        from textvae.evaluation.vae import make_batches

        model = self.model.to(device).eval()
        total, tokens = 0.0, 0
        for batch in make_batches(self.tokenizer, texts):
            batch = batch.to(torch.device(device))
            total += float(language_model_nll(model, batch).sum())
            tokens += int(batch.num_tokens)
        return total, tokens

    def perplexity(self, texts: Sequence[str]) -> float:
        return perplexity(self, texts)


def perplexity(lm, texts: Sequence[str]) -> float:
    """Corpus-level perplexity of ``texts`` under ``lm`` (anything with ``log_likelihood``)."""
    if not texts:
        raise TextvaeError("no sentences to compute a perplexity on")
    total, tokens = lm.log_likelihood(texts)
    return math.exp(total / max(tokens, 1))


def fluency_lm_config(corpus, settings: FluencySettings):
    import textvae.models  # noqa: F401  (registers the model types the recipe names)
    from textvae.config import load_recipe

    return load_recipe(None, [
        "name=fluency_lm", f"seed={settings.seed}", f"data.path={corpus.source}",
        "tokenizer.type=word", f"tokenizer.vocab_size={settings.vocab_size}",
        f"model.embedding_dim={settings.embedding_dim}", "model.latent.type=none",
        "model.decoder.type=gru", f"model.decoder.hidden_size={settings.hidden_size}",
        f"train.lr={settings.lr}", f"train.max_steps={settings.steps}",
        f"train.max_sentences={settings.max_sentences}", "train.max_tokens=100000",
        f"train.eval_every={settings.steps}", "train.early_stopping.metric=null",
        f"train.checkpoint_every={settings.steps}", "train.device=cpu",
    ])


def cached_corpus_lm(corpus, settings: FluencySettings = FluencySettings(), cache_dir: Optional[Path] = None,
                     train: Optional[Callable] = None) -> Tuple[CorpusLM, bool]:
    """The corpus' fluency LM, trained once with ``train(config, out_dir, force=True)`` (e.g.
    :func:`textvae.training.train`; a few minutes on 2 CPU cores for Yelp) and cached."""
    from textvae.modeldir import load_model_dir

    if "train" not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} has no train split to train a fluency LM on")

    def build(directory: Path) -> CorpusLM:
        if train is None:
            raise TextvaeError(f"the fluency LM of {corpus.source} is not cached and no trainer was given to train "
                               "it (pass train=textvae.training.train)")
        train(fluency_lm_config(corpus, settings), directory / "run", force=True)
        return CorpusLM(load_model_dir(directory / "run"))

    def load(directory: Path) -> CorpusLM:
        return CorpusLM(load_model_dir(directory / "run"))

    return cached(artefact_dir("fluency_lm", corpus, settings, cache_dir), "run/model", build, load,
                  f"the fluency LM of {corpus.source} ({settings.steps} training steps, about 5 minutes for Yelp on 2 CPU cores; the bar shows the time left)")


class HFCausalLM:
    """Perplexity from a local ``transformers`` causal LM (e.g. GPT-2)."""

    def __init__(self, path: str, device: str = "cpu", batch_size: int = 32):
        from textvae.evaluation.local_models import load_local

        self.tokenizer, self.model = load_local(path, "fluency LM", "AutoModelForCausalLM", device)
        self.name = f"transformers causal LM {Path(path).name}"
        self.device, self.batch_size = device, batch_size

    @torch.no_grad()
    def log_likelihood(self, texts: Sequence[str]) -> Tuple[float, int]:
        """Each text is scored after the model's BOS (or EOS) token and followed by its EOS token."""
        tok = self.tokenizer
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        total, tokens = 0.0, 0
        for first in range(0, len(texts), self.batch_size):
            rows = [[start] + tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
                    for text in texts[first:first + self.batch_size]]
            width = max(len(r) for r in rows)
            ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], device=self.device)
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device)
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target, keep = ids[:, 1:], mask[:, 1:].bool()
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
            total += float(nll[keep].sum())
            tokens += int(keep.sum())
        return total, tokens

    def perplexity(self, texts: Sequence[str]) -> float:
        return perplexity(self, texts)
