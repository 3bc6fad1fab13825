"""Disentanglement metrics of sentence codes against known generative factors (issue 24).

Every metric takes the codes ``(N, D)`` (posterior means) and the factors ``(N, K)`` (integer
values per sentence, e.g. from the factor corpus) and returns its score with the estimator
settings it used, so that numbers from different runs can be compared only when the settings
agree. Sampling-based scores draw from the given data (sentences sharing a factor's value stand in
for a generator with that factor fixed), seeded.

- MIG (Chen et al. 2018): per factor, the gap between the two code dimensions with the most mutual
  information with it (codes discretised into ``bins`` equal-width bins), over the factor's entropy.
- SAP (Kumar et al. 2018): per factor, the gap between the two dimensions that predict it best on
  their own (a binned majority-vote classifier per dimension, scored on held-out data).
- DCI (Eastwood and Williams 2018): from a random forest's feature importances per factor,
  disentanglement (each dimension explains one factor), completeness (each factor is explained by
  one dimension) and informativeness (the forests' held-out accuracy). The paper uses lasso or
  gradient-boosted trees; a random forest gives importances of the same kind in a fraction of the time.
- beta-VAE score (Higgins et al. 2017): a linear classifier names the factor held fixed from the
  mean absolute difference of the codes of pairs that share its value.
- FactorVAE score (Kim and Mnih 2018): with codes scaled by their spread, the dimension of least
  variance within a group that shares a factor's value votes for that factor; the majority-vote
  classifier's accuracy.
- Modularity and explicitness (Ridgeway and Mozer 2018): each dimension's mutual information
  concentrated on one factor, and each factor's value recoverable by a linear classifier (mean
  one-vs-rest ROC AUC).
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from textvae.errors import TextvaeError


def _check(codes: np.ndarray, factors: np.ndarray):
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise TextvaeError(f"codes {codes.shape} and factors {factors.shape} must be (N, D) and (N, K), same N")
    if len(codes) < 20:
        raise TextvaeError(f"disentanglement metrics need at least 20 sentences, got {len(codes)}")
    return codes, factors.astype(np.int64)


def discretize(codes: np.ndarray, bins: int = 20) -> np.ndarray:
    """Each dimension cut into ``bins`` equal-width bins over its range."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, d], bins=bins)
        out[:, d] = np.digitize(codes[:, d], edges[1:-1])
    return out


def mutual_information_matrix(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> np.ndarray:
    """``(D, K)`` mutual information (nats) between each discretised dimension and each factor."""
    from sklearn.metrics import mutual_info_score

    binned = discretize(codes, bins)
    return np.array([[mutual_info_score(factors[:, k], binned[:, d]) for k in range(factors.shape[1])]
                     for d in range(codes.shape[1])])


def _entropy(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def mig(codes, factors, bins: int = 20) -> Dict:
    codes, factors = _check(codes, factors)
    mi = mutual_information_matrix(codes, factors, bins)
    per_factor = []
    for k in range(factors.shape[1]):
        top = np.sort(mi[:, k])[::-1]
        h = _entropy(factors[:, k])
        second = top[1] if len(top) > 1 else 0.0
        per_factor.append(float((top[0] - second) / h) if h > 0 else 0.0)
    return {"mig": float(np.mean(per_factor)), "per_factor": per_factor, "settings": {"bins": bins}}


def _split(n: int, seed: int, test: float = 0.3):
    order = np.random.default_rng(seed).permutation(n)
    cut = int(n * (1 - test))
    return order[:cut], order[cut:]


def sap(codes, factors, bins: int = 20, seed: int = 0) -> Dict:
    codes, factors = _check(codes, factors)
    train, test = _split(len(codes), seed)
    binned = discretize(codes, bins)
    per_factor = []
    for k in range(factors.shape[1]):
        scores = []
        for d in range(codes.shape[1]):
            votes: Dict[int, np.ndarray] = {}
            for b, y in zip(binned[train, d], factors[train, k]):
                votes.setdefault(int(b), np.zeros(factors[:, k].max() + 1))[y] += 1
            majority = int(np.bincount(factors[train, k]).argmax())
            predicted = [int(votes[int(b)].argmax()) if int(b) in votes else majority for b in binned[test, d]]
            scores.append(float(np.mean(np.array(predicted) == factors[test, k])))
        top = np.sort(scores)[::-1]
        per_factor.append(float(top[0] - (top[1] if len(top) > 1 else 0.0)))
    return {"sap": float(np.mean(per_factor)), "per_factor": per_factor, "settings": {"bins": bins, "seed": seed}}


def dci(codes, factors, trees: int = 50, seed: int = 0) -> Dict:
    from sklearn.ensemble import RandomForestClassifier

    codes, factors = _check(codes, factors)
    train, test = _split(len(codes), seed)
    n_dims, n_factors = codes.shape[1], factors.shape[1]
    importance = np.zeros((n_dims, n_factors))
    accuracy = []
    for k in range(n_factors):
        forest = RandomForestClassifier(n_estimators=trees, max_features=None, max_depth=8, random_state=seed, n_jobs=1)
        forest.fit(codes[train], factors[train, k])
        importance[:, k] = forest.feature_importances_
        accuracy.append(float(forest.score(codes[test], factors[test, k])))
    importance = np.abs(importance) + 1e-12

    def normalised_entropy(p: np.ndarray, base: int) -> float:
        p = p / p.sum()
        return float(-(p * np.log(p)).sum() / np.log(base)) if base > 1 else 0.0

    rho = importance.sum(1) / importance.sum()
    disentanglement = float(sum(r * (1 - normalised_entropy(row, n_factors)) for r, row in zip(rho, importance)))
    completeness = float(np.mean([1 - normalised_entropy(importance[:, k], n_dims) for k in range(n_factors)]))
    return {"dci_disentanglement": disentanglement, "dci_completeness": completeness,
            "dci_informativeness": float(np.mean(accuracy)), "importance": importance.tolist(),
            "settings": {"regressor": "random forest (all features per split, depth 8)", "trees": trees, "seed": seed,
                         "test_share": 0.3}}


def _groups(factors: np.ndarray, k: int, rng, size: int, count: int = 1):
    """``count`` random sets of ``size`` rows that share factor ``k``'s value (one random value)."""
    values = np.unique(factors[:, k])
    rows = np.flatnonzero(factors[:, k] == rng.choice(values))
    return [rng.choice(rows, size=size, replace=len(rows) < size) for _ in range(count)]


def beta_vae_score(codes, factors, pairs: int = 64, points: int = 400, seed: int = 0) -> Dict:
    from sklearn.linear_model import LogisticRegression

    codes, factors = _check(codes, factors)
    rng = np.random.default_rng(seed)
    features, targets = [], []
    for _ in range(points):
        k = int(rng.integers(factors.shape[1]))
        a, b = _groups(factors, k, rng, pairs, count=2)  # pairs that share factor k's value
        features.append(np.abs(codes[a] - codes[b]).mean(0))
        targets.append(k)
    features, targets = np.array(features), np.array(targets)
    cut = int(points * 0.7)
    clf = LogisticRegression(max_iter=2000).fit(features[:cut], targets[:cut])
    return {"beta_vae_score": float(clf.score(features[cut:], targets[cut:])),
            "settings": {"pairs": pairs, "points": points, "seed": seed, "classifier": "logistic regression"}}


def factor_vae_score(codes, factors, group: int = 64, votes: int = 400, seed: int = 0) -> Dict:
    codes, factors = _check(codes, factors)
    rng = np.random.default_rng(seed)
    scale = codes.std(0)
    active = scale > 1e-2 * max(scale.max(), 1e-12)  # collapsed dimensions take no part
    if not active.any():
        return {"factor_vae_score": 0.0, "settings": {"group": group, "votes": votes, "seed": seed}}
    scaled = codes[:, active] / scale[active]
    table = np.zeros((int(active.sum()), factors.shape[1]))
    for _ in range(votes):
        k = int(rng.integers(factors.shape[1]))
        rows = _groups(factors, k, rng, group)[0]
        table[int(scaled[rows].var(0).argmin()), k] += 1
    # the majority-vote classifier: each dimension predicts the factor it voted for most
    accuracy = float(table.max(1).sum() / table.sum())
    return {"factor_vae_score": accuracy, "settings": {"group": group, "votes": votes, "seed": seed}}


def modularity_explicitness(codes, factors, bins: int = 20, seed: int = 0) -> Dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    codes, factors = _check(codes, factors)
    mi = mutual_information_matrix(codes, factors, bins)
    scores = []
    for row in mi:
        theta = row.max()
        if theta <= 0 or len(row) < 2:
            scores.append(0.0)
            continue
        deviation = ((row ** 2).sum() - theta ** 2) / (theta ** 2 * (len(row) - 1))
        scores.append(float(1 - deviation))
    train, test = _split(len(codes), seed)
    scaled = StandardScaler().fit(codes[train]).transform(codes)
    aucs = []
    for k in range(factors.shape[1]):
        clf = LogisticRegression(max_iter=2000).fit(scaled[train], factors[train, k])
        prob = clf.predict_proba(scaled[test])
        per_value = []
        for j, value in enumerate(clf.classes_):
            truth = factors[test, k] == value
            if truth.any() and not truth.all():
                per_value.append(roc_auc_score(truth, prob[:, j]))
        aucs.append(float(np.mean(per_value)) if per_value else 0.5)
    return {"modularity": float(np.mean(scores)), "explicitness": float(np.mean(aucs)),
            "settings": {"bins": bins, "seed": seed, "classifier": "logistic regression, one-vs-rest AUC"}}


def all_metrics(codes, factors, names: Sequence[str] = (), seed: int = 0) -> Dict:
    """Every metric above (each computed once), with per-factor MIG and SAP keyed by factor name
    and each estimator's settings under ``settings``."""
    codes, factors = _check(codes, factors)
    names = list(names) or [f"factor{k}" for k in range(factors.shape[1])]
    results = {"mig": mig(codes, factors), "sap": sap(codes, factors, seed=seed), "dci": dci(codes, factors, seed=seed),
               "beta_vae": beta_vae_score(codes, factors, seed=seed),
               "factor_vae": factor_vae_score(codes, factors, seed=seed),
               "modularity": modularity_explicitness(codes, factors, seed=seed)}
    out: Dict = {}
    for result in results.values():
        out.update({k: v for k, v in result.items() if k not in ("per_factor", "settings", "importance")})
    out["per_factor"] = {name: dict(zip(names, results[name]["per_factor"])) for name in ("mig", "sap")}
    out["settings"] = {name: result["settings"] for name, result in results.items()}
    return out
