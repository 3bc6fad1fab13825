"""Style judges: the classifier that decides whether a transfer reached its target style.

The default is a fastText classifier (Joulin et al. 2017) trained on the corpus' training
split with word bigrams, single-threaded and seeded so that two runs give the same judge.
It is cached under the textvae cache, keyed by the corpus content and its settings, and its
dev accuracy is reported with every score that uses it.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from textvae.errors import TextvaeError
from textvae.progress import enabled as progress_enabled
from textvae.evaluation.cache import artefact_dir, cached, quiet_fasttext
from textvae.io import atomic_write_text


@dataclass(frozen=True)
class JudgeSettings:
    """fastText's settings for sentiment (Joulin et al. 2017: 10 dimensions, 5 epochs, bigrams);
    500k hash buckets keep the judge at 20 MB (Yelp dev accuracy 96.9%)."""

    epoch: int = 5
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 10
    bucket: int = 500_000
    seed: int = 0


def _label(name: str) -> str:
    return "__label__" + name.replace(" ", "_")


class FastTextJudge:
    """A fastText style classifier over the corpus' label names."""

    name = "fastText trained on the corpus (word bigrams)"

    def __init__(self, model, label_names: Sequence[str], dev_accuracy: Optional[float] = None):
        self.model = model
        self.label_names = list(label_names)
        self.dev_accuracy = dev_accuracy
        self._index = {_label(name): i for i, name in enumerate(self.label_names)}

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[int], label_names: Sequence[str],
              settings: JudgeSettings = JudgeSettings()) -> "FastTextJudge":
        import fasttext

        order = list(range(len(texts)))
        random.Random(settings.seed).shuffle(order)  # SGD over label-sorted files learns one label
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "train.txt"
            data.write_text("".join(f"{_label(label_names[labels[i]])} {texts[i]}\n" for i in order),
                            encoding="utf-8")
            model = fasttext.train_supervised(str(data), epoch=settings.epoch, lr=settings.lr,
                                              wordNgrams=settings.word_ngrams, dim=settings.dim,
                                              bucket=settings.bucket,
                                              seed=settings.seed, thread=1, verbose=2 if progress_enabled() else 0)
        return cls(model, label_names)

    def predict_proba(self, texts: Sequence[str]) -> List[List[float]]:
        """Probability of every label, in ``label_names`` order."""
        out = []
        k = len(self.label_names)
        for text in texts:  # the batched binding returns wrong probabilities under numpy 2
            row = [0.0] * k
            for p, name in self.model.f.predict(text.replace("\n", " ") + "\n", k, 0.0, "strict"):
                row[self._index[name]] = float(p)
            out.append(row)
        return out

    def predict(self, texts: Sequence[str]) -> List[int]:
        return [max(range(len(row)), key=row.__getitem__) for row in self.predict_proba(texts)]

    def accuracy(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        predicted = self.predict(texts)
        return sum(p == y for p, y in zip(predicted, labels)) / max(len(labels), 1)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_model(str(directory / "judge.bin"))
        atomic_write_text(directory / "judge.json", json.dumps(
            {"label_names": self.label_names, "dev_accuracy": self.dev_accuracy}, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> "FastTextJudge":
        fasttext = quiet_fasttext()
        meta = json.loads((directory / "judge.json").read_text(encoding="utf-8"))
        return cls(fasttext.load_model(str(directory / "judge.bin")), meta["label_names"], meta["dev_accuracy"])


class TransformersJudge:
    """A local ``transformers`` sequence classifier as the judge.

    Its labels are matched to the corpus' label names through the model's ``id2label``
    (case-insensitive); a model with generic names (``LABEL_0``...) and as many labels as the
    corpus is taken to use the corpus' order.
    """

    def __init__(self, path: str, label_names: Sequence[str], device: str = "cpu", batch_size: int = 64):
        from textvae.evaluation.local_models import load_local

        self.tokenizer, self.model = load_local(path, "judge model", "AutoModelForSequenceClassification", device)
        self.name = f"transformers classifier {Path(path).name}"
        self.label_names = list(label_names)
        self.dev_accuracy: Optional[float] = None
        self.device, self.batch_size = device, batch_size
        self.columns = self._columns({int(i): str(n) for i, n in self.model.config.id2label.items()})

    def _columns(self, id2label) -> List[int]:
        """For each corpus label, the model output column that predicts it."""
        by_name = {n.lower(): i for i, n in id2label.items()}
        if all(name.lower() in by_name for name in self.label_names):
            return [by_name[name.lower()] for name in self.label_names]
        if len(id2label) == len(self.label_names):
            return list(range(len(self.label_names)))
        raise TextvaeError(f"judge labels {sorted(id2label.values())} do not match the corpus' styles "
                           f"{self.label_names}")

    def predict_proba(self, texts: Sequence[str]) -> List[List[float]]:
        import torch

        out: List[List[float]] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True,
                                     truncation=True, return_tensors="pt").to(self.device)
                probs = torch.softmax(self.model(**enc).logits.float(), dim=-1)[:, self.columns]
                out.extend((probs / probs.sum(-1, keepdim=True)).tolist())
        return out

    predict = FastTextJudge.predict
    accuracy = FastTextJudge.accuracy


def cached_judge(corpus, settings: JudgeSettings = JudgeSettings(),
                 cache_dir: Optional[Path] = None) -> Tuple[FastTextJudge, bool]:
    """The corpus' judge, trained once and cached; returns ``(judge, loaded_from_cache)``."""
    if "train" not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} has no train split to train a style judge on")

    def build(directory: Path) -> FastTextJudge:
        judge = FastTextJudge.train(corpus.texts("train"), corpus.labels("train"), corpus.label_names, settings)
        if "dev" in corpus.datasets:
            judge.dev_accuracy = judge.accuracy(corpus.texts("dev"), corpus.labels("dev"))
        judge.save(directory)
        return judge

    return cached(artefact_dir("judges", corpus, settings, cache_dir), "judge.bin", build, FastTextJudge.load,
                  f"the fastText judge of {corpus.source} (a minute or two for Yelp; its progress line shows the time left)")
