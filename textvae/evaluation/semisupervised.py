"""What sentence codes are good for with few labels (issue 26): the protocol of the BN-VAE paper's
Table 3 (Zhu et al. 2020), after Li et al. 2019. A classifier is fitted on the posterior means of N
labelled training sentences (balanced: N / K per class, drawn with a seed) and scored on the whole
test split; repeated for several draws, reported as the mean and spread per N.

The classifier is scikit-learn's logistic regression on standardised codes (``logreg``), a
small MLP (``mlp``, the probe of :mod:`textvae.evaluation.probes`; the BN-VAE code fits a
one-layer MLP, so ``mlp`` is the closer match and ``logreg`` the more stable with 100 labels), or
``m1m2``: Kingma et al.'s stacked semi-supervised model (:mod:`textvae.evaluation.m1m2`), which
also learns from the codes of unlabelled training sentences (their labels never seen).
"""

from __future__ import annotations

import random
import statistics
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from textvae.errors import TextvaeError


def balanced_draw(labels: Sequence[int], n: int, seed: int) -> List[int]:
    """``n`` indices with ``n / K`` of each of the K classes (as many as a class has, if fewer)."""
    classes = sorted(set(labels))
    per_class = n // len(classes)
    if per_class < 1:
        raise TextvaeError(f"{n} labels cannot cover {len(classes)} classes; use at least {len(classes)}")
    rng = random.Random(seed)
    chosen: List[int] = []
    for c in classes:
        rows = [i for i, y in enumerate(labels) if y == c]
        chosen += rng.sample(rows, min(per_class, len(rows)))
    return sorted(chosen)


CLASSIFIERS = ("logreg", "mlp", "m1m2")


def fit_and_score(train_x: np.ndarray, train_y: Sequence[int], test_x: np.ndarray, test_y: Sequence[int],
                  classifier: str, seed: int, unlabelled: Optional[np.ndarray] = None) -> float:
    if classifier == "m1m2":
        from textvae.evaluation.m1m2 import m1m2_accuracy

        return m1m2_accuracy(train_x, train_y, unlabelled, test_x, test_y, seed=seed)
    if classifier == "mlp":
        from textvae.evaluation.probes import probe_accuracy

        return probe_accuracy(torch.as_tensor(train_x), train_y, torch.as_tensor(test_x), test_y, seed=seed)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(train_x, list(train_y))
    return float(model.score(test_x, list(test_y)))


def few_label_accuracy(train_codes: Callable[[List[int]], np.ndarray], train_labels: Sequence[int],
                       test_codes: np.ndarray, test_labels: Sequence[int], sizes: Sequence[int], draws: int = 5,
                       classifier: str = "logreg", seed: int = 0,
                       unlabelled: Optional[np.ndarray] = None) -> Dict[int, Dict[str, float]]:
    """``{N: {"mean", "std", "min", "max", "draws"}}`` test accuracy (%) per number of labels;
    ``train_codes(rows)`` gives the codes of training sentences (only the drawn ones are encoded);
    ``unlabelled``: codes of training sentences whose labels are not used (``m1m2`` needs them)."""
    if classifier not in CLASSIFIERS:
        raise TextvaeError(f"unknown classifier {classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
    if classifier == "m1m2" and (unlabelled is None or len(unlabelled) == 0):
        raise TextvaeError("the m1m2 classifier needs the codes of unlabelled sentences")
    if draws < 1:
        raise TextvaeError(f"--draws must be at least 1, got {draws}")
    for n in sizes:
        if n > len(train_labels):
            raise TextvaeError(f"{n} labels asked for, but the training split has {len(train_labels)} sentences")
    from textvae.progress import bar

    out = {}
    with bar(len(sizes) * draws, f"few labels ({classifier})", "fit") as shown:
        for n in sizes:
            scores = []
            for d in range(draws):
                rows = balanced_draw(train_labels, n, seed + 1000 * d + n)
                scores.append(100 * fit_and_score(train_codes(rows), [train_labels[i] for i in rows], test_codes,
                                                  test_labels, classifier, seed + d, unlabelled))
                shown.update()
            out[n] = {"mean": statistics.mean(scores), "std": statistics.pstdev(scores), "min": min(scores),
                      "max": max(scores), "draws": draws}
    return out


def own_classifier_accuracy(model, texts: Sequence[str], labels: Sequence[int]) -> Dict[str, object]:
    """Test accuracy (%) of a model's own label classifier (M2's q(y|x)) and how many training
    labels it was trained with."""
    predicted = model.label_probabilities(list(texts)).argmax(-1).tolist()
    accuracy = 100 * sum(p == y for p, y in zip(predicted, labels)) / max(1, len(labels))
    return {"accuracy": accuracy, "labels": model.model.training_labels()}
