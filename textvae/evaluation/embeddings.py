"""Content similarity: cosine between averaged word vectors of source and output.

As in John et al. (2019), a sentence's content vector is the mean of its word embeddings with
stopwords and style words removed, so that changing the sentiment does not count as losing
content. No pretrained vectors can be assumed offline, so textvae trains fastText skip-gram
vectors (Bojanowski et al. 2017) on the corpus' training split, seeded and single-threaded,
cached like the judge; their subword n-grams give vectors to words the corpus never had (e.g. in
an LLM's output). With a local ``transformers`` sentence encoder, whole outputs are embedded
instead (mean-pooled last hidden states, style words kept: the model sees the sentence as is).
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from textvae.errors import TextvaeError
from textvae.progress import enabled as progress_enabled
from textvae.evaluation.cache import artefact_dir, cached, quiet_fasttext
from textvae.evaluation.similarity import content_words


@dataclass(frozen=True)
class WordVectorSettings:
    dim: int = 100
    epoch: int = 5
    min_count: int = 3
    bucket: int = 100_000  # subword hash buckets (fastText's 2M would make an 800 MB file)
    seed: int = 0


class WordVectors:
    """fastText word vectors (with subwords) trained on a corpus."""

    name = "fastText skip-gram vectors trained on the corpus"

    def __init__(self, model):
        self.model = model

    @classmethod
    def train(cls, texts: Sequence[str], settings: WordVectorSettings = WordVectorSettings()) -> "WordVectors":
        import fasttext

        order = list(range(len(texts)))
        random.Random(settings.seed).shuffle(order)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "train.txt"
            data.write_text("".join(texts[i] + "\n" for i in order), encoding="utf-8")
            model = fasttext.train_unsupervised(str(data), model="skipgram", dim=settings.dim,
                                                epoch=settings.epoch, minCount=settings.min_count,
                                                bucket=settings.bucket,
                                                thread=1, verbose=2 if progress_enabled() else 0)  # its seed is fixed at 0
        return cls(model)

    def vector(self, words: Iterable[str]) -> Optional[np.ndarray]:
        words = list(words)
        if not words:
            return None
        return np.mean([self.model.get_word_vector(w) for w in words], axis=0)

    def content_similarity(self, sources: Sequence[str], outputs: Sequence[str],
                           style_words: Iterable[str] = ()) -> List[float]:
        """Cosine of content vectors per pair (1.0 when neither has content words, 0.0 when one has none)."""
        style_words = set(style_words)
        scores = []
        for source, output in zip(sources, outputs):
            a = self.vector(sorted(content_words(source, style_words)))
            b = self.vector(sorted(content_words(output, style_words)))
            if a is None or b is None:
                scores.append(1.0 if a is None and b is None else 0.0)
            else:
                scores.append(_cosine(a, b))
        return scores

    def save(self, directory: Path) -> None:
        self.model.save_model(str(directory / "vectors.bin"))

    @classmethod
    def load(cls, directory: Path) -> "WordVectors":
        return cls(quiet_fasttext().load_model(str(directory / "vectors.bin")))


def cached_word_vectors(corpus, settings: WordVectorSettings = WordVectorSettings(),
                        cache_dir: Optional[Path] = None) -> Tuple[WordVectors, bool]:
    """The corpus' word vectors, trained once on its train split and cached."""
    if "train" not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} has no train split to train word vectors on")

    def build(directory: Path) -> WordVectors:
        vectors = WordVectors.train(corpus.texts("train"), settings)
        vectors.save(directory)
        return vectors

    return cached(artefact_dir("word_vectors", corpus, settings, cache_dir), "vectors.bin", build, WordVectors.load,
                  f"the word vectors of {corpus.source} for content similarity (fastText skipgram; its progress line shows the time left)")


class SentenceEncoder:
    """Sentence embeddings from a local ``transformers`` encoder (mean over tokens)."""

    def __init__(self, path: str, device: str = "cpu", batch_size: int = 64):
        from textvae.evaluation.local_models import load_local

        self.tokenizer, self.model = load_local(path, "sentence-embedding model", "AutoModel", device)
        self.name = f"sentence encoder {Path(path).name} (mean pooling)"
        self.device, self.batch_size = device, batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True,
                                     truncation=True, return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"][..., None].to(hidden.dtype)
                rows.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 1))

    def content_similarity(self, sources: Sequence[str], outputs: Sequence[str],
                           style_words: Iterable[str] = ()) -> List[float]:
        a, b = self.embed(sources), self.embed(outputs)
        return [_cosine(x, y) for x, y in zip(a, b)]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 0 else 0.0
