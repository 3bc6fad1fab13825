"""Operations in a model's latent space: interpolation, arithmetic, traversal, prior samples.

"What lies between two sentences?" (Bowman et al. 2016, homotopies) and "does z(s1) - z(s2) +
z(s3) work?" (representation arithmetic, e.g. Brunner et al. 2018; Zhu et al. 2020) for whole
files at once. Codes are posterior means; decoding takes the usual decoding options.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch

from textvae.errors import TextvaeError
from textvae.evaluation.bleu import sentence_bleu_average


def require_latent(model) -> None:
    if not model.model.latent_dim:
        raise TextvaeError(f"model {model.path} has no latent code (e.g. a language model or a "
                           "back-translation model); these reports need an autoencoder or VAE")


def bar_over(items, desc: str, unit: str = "sentence"):
    """``items`` with a progress bar (see :mod:`textvae.progress`)."""
    from textvae.progress import bar

    with bar(len(items), desc, unit) as shown:
        for item in items:
            yield item
            shown.update()


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for generative models): follows the
    great circle, keeping norms typical of a Gaussian prior; falls back to lerp for parallel codes."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1, 1)
    omega = torch.acos(cos)[..., None]
    so = torch.sin(omega)
    parallel = so.abs() < 1e-6
    mixed = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.where(parallel, torch.ones_like(so), so)
    return torch.where(parallel, lerp(a, b, t), mixed)


def smoothness(sentences: Sequence[str]) -> Dict[str, float]:
    """How gradual a path is: distinct sentences on it, and mean BLEU between neighbours."""
    pairs = list(zip(sentences[:-1], sentences[1:]))
    neighbour = sentence_bleu_average([b for _, b in pairs], [[a for a, _ in pairs]]) if pairs else 0.0
    return {"distinct": len(set(sentences)), "neighbour_bleu": neighbour}


def interpolate(model, pairs: Sequence[Sequence[str]], steps: int = 10, method: str = "linear",
                part: str = "all", **options) -> List[Dict]:
    """For each ``(a, b)``: ``steps`` + 1 decoded points from z(a) to z(b) (ends included)."""
    require_latent(model)
    if steps < 1:
        raise TextvaeError(f"--steps must be at least 1, got {steps}")
    mix = {"linear": lerp, "slerp": slerp}.get(method)
    if mix is None:
        raise TextvaeError(f"unknown interpolation {method!r}; choose linear or slerp")
    codes = model.encode([s for pair in pairs for s in pair]).float()
    mask = model.model.code_part_mask(part).to(codes.device)
    results = []
    for i, (a, b) in enumerate(bar_over(pairs, "interpolate", "pair")):
        za, zb = codes[2 * i], codes[2 * i + 1]
        points = [torch.where(mask, mix(za, zb, k / steps), za) for k in range(steps + 1)]
        decoded = model.decode(torch.stack(points), **options)
        results.append({"a": a, "b": b, "sentences": decoded, **smoothness(decoded),
                        "bleu_to_a": [sentence_bleu_average([s], [[a]]) for s in decoded],
                        "bleu_to_b": [sentence_bleu_average([s], [[b]]) for s in decoded]})
    return results


def arithmetic(model, triples: Sequence[Sequence[str]], **options) -> List[Dict]:
    """For each ``(s1, s2, s3)``: decode z(s1) - z(s2) + z(s3)."""
    require_latent(model)
    codes = model.encode([s for triple in triples for s in triple]).float()
    z = codes[0::3] - codes[1::3] + codes[2::3]
    decoded = model.decode(z, **options)
    return [{"s1": t[0], "s2": t[1], "s3": t[2], "result": d} for t, d in zip(triples, decoded)]


def traverse(model, sentences: Sequence[str], dims: Sequence[int], radius: float = 3.0, points: int = 7,
             **options) -> List[Dict]:
    """For each sentence and dimension: set that dimension of its code to values in
    [-radius, radius] (``points`` of them), the other dimensions unchanged."""
    require_latent(model)
    dim = model.model.latent_dim
    bad = [d for d in dims if not 0 <= d < dim]
    if bad:
        raise TextvaeError(f"--dims {bad} out of range: the latent has {dim} dimensions (0..{dim - 1})")
    if points < 2:
        raise TextvaeError(f"--points must be at least 2, got {points}")
    values = torch.linspace(-radius, radius, points)
    codes = model.encode(list(sentences)).float()
    results = []
    for sentence, code in bar_over(list(zip(sentences, codes)), "traverse"):
        for d in dims:
            grid = code.repeat(points, 1)
            grid[:, d] = values
            decoded = model.decode(grid, **options)
            results.append({"sentence": sentence, "dim": d, "values": values.tolist(), "sentences": decoded,
                            **smoothness(decoded)})
    return results


def factor_view(traversals: Sequence[Dict], read_factors) -> Dict:
    """Which factor each code dimension moves: for every traversal (one sentence, one dimension),
    how much each factor varies along it (1 - the share of the decoded points that show its most
    common value; ``read_factors(text) -> {factor: value or None}``, points that do not show the
    factor skipped), averaged per dimension: ``changed`` is ``(dims, factors)``. Measured along the
    path, not against the source, so reconstruction errors do not count as movement."""
    from collections import Counter

    names = list(read_factors("").keys())
    dims = sorted({t["dim"] for t in traversals})
    moved = {d: {n: [] for n in names} for d in dims}
    for t in traversals:
        seen = [read_factors(text) for text in t["sentences"]]
        for n in names:
            values = [v[n] for v in seen if v[n] is not None]
            if values:
                moved[t["dim"]][n].append(1 - Counter(values).most_common(1)[0][1] / len(values))
    matrix = [[sum(moved[d][n]) / len(moved[d][n]) if moved[d][n] else 0.0 for n in names] for d in dims]
    return {"dims": dims, "factors": names, "changed": matrix}


def check_style(model, *styles: str) -> None:
    """Refuse a style the model does not know."""
    for style in styles:
        if style not in model.label_names:
            raise TextvaeError(f"unknown style '{style}'; this model knows: {', '.join(model.label_names)}")


def styled(model, codes: torch.Tensor, style: Optional[str]) -> torch.Tensor:
    """``codes`` with their style part set to ``style`` (None: unchanged)."""
    if style is None:
        return codes
    check_style(model, style)
    return model.model.with_style(codes, model.label_names.index(style))


def prior_samples(model, n: int = 50, style: Optional[str] = None, **options) -> List[str]:
    """Sentences decoded from codes drawn from the model's prior (N(0, I) unless the model says
    otherwise), drawn with the decoding ``seed`` (default 0); with ``style``, the codes' style part
    is set to it first (M2's label, a split model's style vector)."""
    require_latent(model)
    if n < 1:
        raise TextvaeError(f"-n must be at least 1, got {n}")
    generator = torch.Generator().manual_seed(options.get("seed") or 0)
    return model.decode(styled(model, model.model.prior_codes(n, generator), style).cpu(), **options)


def prior_interpolate(model, n: int = 5, steps: int = 8, method: str = "linear", style: Optional[str] = None,
                      **options) -> List[Dict]:
    """``n`` paths between two draws of the prior's noise, ``steps`` + 1 points each, mapped to codes
    by the model (ARAE's generator; the identity for N(0, I)) and decoded, as in the ARAE paper's
    interpolations in noise space (Zhao et al. 2018, section 6)."""
    require_latent(model)
    if n < 1 or steps < 1:
        raise TextvaeError(f"-n and --interpolate must be at least 1, got {n} and {steps}")
    mix = {"linear": lerp, "slerp": slerp}[method]
    generator = torch.Generator().manual_seed(options.get("seed") or 0)
    noise = model.model.prior_noise(2 * n, generator).float()
    results = []
    for i in bar_over(range(n), "interpolate", "path"):
        points = torch.stack([mix(noise[2 * i], noise[2 * i + 1], k / steps) for k in range(steps + 1)])
        decoded = model.decode(styled(model, model.model.codes_from_noise(points), style).cpu(), **options)
        results.append({"sentences": decoded, **smoothness(decoded)})
    return results


def manipulation_trajectories(model, sentences: Sequence[str], source: str, target: str, judge, steps: int = 50,
                              every: int = 5, **options) -> List[Dict]:
    """For each sentence (of style ``source``), the points of its latent-manipulation path towards
    ``target`` (:meth:`textvae.api.TextModel.manipulation_trajectory`) with the judge's probability
    of ``target`` and the sentence BLEU to the source at each, and the first distance at which the
    judge reads the target style (None if never): the paper's trajectory analysis."""
    import sacrebleu

    check_style(model, source, target)
    manipulation = {k: options.pop(k) for k in ("step_size", "stay", "reference") if k in options}
    paths = model.manipulation_trajectory(sentences, target, steps, every, **manipulation, **options)
    column = judge.label_names.index(target)
    flat = [p["sentence"] for path in paths for p in path]
    probabilities = [float(row[column]) for row in judge.predict_proba(flat)] if flat else []
    results, n = [], 0
    for sentence, path in zip(sentences, paths):
        for point in path:
            point["target_probability"] = probabilities[n]
            point["bleu"] = sacrebleu.sentence_bleu(point["sentence"], [sentence]).score
            n += 1
        flipped = next((p["distance"] for p in path if p["target_probability"] > 0.5), None)
        results.append({"source": sentence, "from": source, "to": target, "points": path, "flipped_at": flipped})
    return results
