"""Syntactic saliency of sentence codes (Brunner, Wang, Wattenhofer and Weigelt 2018): do the codes
of sentences with one syntactic template lie together? The codes are clustered (k-means on
standardised codes and Ward agglomerative clustering, k = the number of templates) and the
clusters scored against the templates by purity and adjusted Rand index; and the share of each
code's nearest neighbours (cosine) that share its template. A template is the sentence's
part-of-speech sequence (from a lexicon, :mod:`textvae.data.tags`); on the factor corpus that is its
sentence type, negation and intensifier.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Sequence

import numpy as np

from textvae.errors import TextvaeError


def purity(predicted: Sequence[int], truth: Sequence[int]) -> float:
    """The share of items in their cluster's majority class."""
    clusters: Dict[int, Counter] = {}
    for p, t in zip(predicted, truth):
        clusters.setdefault(p, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in clusters.values()) / max(1, len(truth))


def neighbour_agreement(codes: np.ndarray, truth: Sequence[int], k: int = 10) -> float:
    """Mean share of each code's ``k`` nearest neighbours (cosine, itself excluded) with its template."""
    unit = codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    truth = np.asarray(truth)
    shares = []
    for start in range(0, len(unit), 1024):
        sims = unit[start:start + 1024] @ unit.T
        rows = np.arange(start, min(start + 1024, len(unit)))
        sims[rows - start, rows] = -np.inf
        nearest = np.argpartition(-sims, k, axis=1)[:, :k]
        shares.append((truth[nearest] == truth[rows][:, None]).mean(1))
    return float(np.concatenate(shares).mean())


def syntactic_saliency(codes: np.ndarray, templates: Sequence[tuple], seed: int = 0,
                       neighbours: int = 10) -> Dict[str, float]:
    """Clustering and neighbour scores of ``codes`` ``(N, D)`` against ``templates`` (one
    hashable template per sentence), with the chance levels (majority template, random codes)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import adjusted_rand_score

    if len(codes) != len(templates) or len(codes) <= neighbours:
        raise TextvaeError(f"syntactic saliency needs more than {neighbours} sentences, one template each")
    names = {t: i for i, t in enumerate(dict.fromkeys(templates))}
    truth = [names[t] for t in templates]
    k = len(names)
    if k < 2:
        raise TextvaeError("every sentence has the same template; syntactic saliency needs two or more")
    codes = np.asarray(codes, dtype=np.float64)
    standard = (codes - codes.mean(0)) / np.maximum(codes.std(0), 1e-12)
    kmeans = KMeans(k, n_init=10, random_state=seed).fit_predict(standard)
    ward = AgglomerativeClustering(k, linkage="ward").fit_predict(standard)
    noise = np.random.default_rng(seed).standard_normal(codes.shape)
    return {"templates": k, "sentences": len(truth),
            "kmeans_purity": purity(kmeans, truth), "kmeans_ari": float(adjusted_rand_score(truth, kmeans)),
            "ward_purity": purity(ward, truth), "ward_ari": float(adjusted_rand_score(truth, ward)),
            "neighbour_agreement": neighbour_agreement(codes, truth, neighbours),
            "chance_purity": Counter(truth).most_common(1)[0][1] / len(truth),
            "chance_neighbour_agreement": neighbour_agreement(noise, truth, neighbours)}
