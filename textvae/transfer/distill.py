"""``textvae distill``: reranked transfers of the training split, as pseudo-parallel pairs to train
the model on (``model.distill.pairs``), so that greedy decoding learns what the beam search and
the rerankers chose (iterated for a few rounds, as in iterative matching-and-translation work,
e.g. Jin et al. 2019, "IMaT"). The file layout is :mod:`textvae.data.pairs`'."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from textvae.data.pairs import CHUNKS, MANIFEST, PAIRS
from textvae.errors import TextvaeError
from textvae.io import atomic_write_text
from textvae.transfer.defaults import MODELS_KEYS


def check_out(out: Path, resume: bool, force: bool) -> None:
    """Refuse an existing pairs directory unless resumed or forced (before any model is loaded)."""
    if out.exists() and not (resume or force):
        raise TextvaeError(f"{out} exists; pass --resume to finish it or --force to make it again")
    if resume and out.exists() and not (out / MANIFEST).is_file():
        raise TextvaeError(f"--resume: {out} is not a textvae pairs directory (no {MANIFEST})")


def balanced_sample(labels: Sequence[int], count: int, seed: int = 0) -> List[int]:
    """``count`` indices into ``labels`` drawn evenly from the styles (seeded; at most a style's
    sentences each), in split order, so that a subset of a split sorted by style still holds every style."""
    import random

    styles = sorted(set(labels))
    by_style = {s: [i for i, label in enumerate(labels) if label == s] for s in styles}
    rng = random.Random(seed)
    chosen: List[int] = []
    for k, s in enumerate(styles):
        want = count // len(styles) + (1 if k < count % len(styles) else 0)
        pool = by_style[s]
        chosen += pool if want >= len(pool) else rng.sample(pool, want)
    return sorted(chosen)


def distill_pairs(model, texts, labels, out: Path, settings: Dict, fingerprint: str, chunk: int = 2000,
                  resume: bool = False, force: bool = False, indices: Optional[Sequence[int]] = None,
                  shard: Tuple[int, int] = (0, 1)) -> Optional[Path]:
    """Transfer ``texts`` (the training split, with ``labels``; only the positions ``indices`` when
    given, e.g. from :func:`balanced_sample`) each to the next style with the loaded ``model`` and its
    transfer ``settings`` (``TextModel.transfer_settings``), ``chunk`` sentences a file; with
    ``resume``, the chunks already written are kept. Every pair keeps its sentence's index in the
    split. With ``shard=(k, n)`` only every n-th chunk from the k-th is made, so that n processes
    fill one directory side by side (the same settings, checked by the manifest). Returns the pairs
    file once every chunk is there (whichever shard finishes last writes it), else None."""
    from textvae.progress import bar

    out = Path(out)
    chosen = list(range(len(texts))) if indices is None else list(indices)
    # (samples and pooled strengths only when on: pairs made before them resume as they were)
    kept = {k: v for k, v in settings.items()
            if k not in MODELS_KEYS and not (k in ("samples", "pool_strengths") and not v)}
    manifest = {"model": str(model.path), "settings": kept,
                "lm": getattr(settings.get("lm"), "path", None) and str(settings["lm"].path),
                "corpus_fingerprint": fingerprint, "sentences": len(chosen), "chunk": chunk}
    if settings.get("scorer") is not None:  # (absent otherwise: pairs made before scorers resume as they were)
        manifest["scorer"] = str(settings["scorer"].path)
    if indices is not None:
        manifest["indices_digest"] = hashlib.sha1(",".join(map(str, chosen)).encode()).hexdigest()[:16]
    k, n = shard
    if out.exists() and force and not resume and n == 1:  # (a shard never clears what the others wrote)
        shutil.rmtree(out)
    if (out / MANIFEST).is_file():
        saved = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        saved.pop("date", None)
        if saved != manifest:
            changed = sorted(k for k in manifest if saved.get(k) != manifest[k])
            raise TextvaeError(f"--resume: {out} was started with other {', '.join(changed)}; use --force to start over")
    else:
        atomic_write_text(out / MANIFEST, json.dumps({**manifest, "date": datetime.date.today().isoformat()},
                                                     indent=1) + "\n")
    names = model.label_names
    starts = range(0, len(chosen), chunk)
    mine = starts[k::n]
    with bar(sum(min(chunk, len(chosen) - start) for start in mine), "distill") as shown:
        for start in mine:
            file = out / CHUNKS / f"{start:08d}.jsonl"
            rows = chosen[start:start + chunk]
            if not file.is_file():
                outputs: list = [None] * len(rows)
                for target in range(len(names)):
                    group = [j for j, i in enumerate(rows) if (labels[i] + 1) % len(names) == target]
                    if group:
                        results = model.transfer([texts[rows[j]] for j in group], names[target], **settings)
                        for j, text in zip(group, results):
                            outputs[j] = text
                lines = [json.dumps({"index": i, "source": texts[i], "label": labels[i],
                                     "target": (labels[i] + 1) % len(names), "output": o}) for i, o in zip(rows, outputs)]
                atomic_write_text(file, "".join(line + "\n" for line in lines))
            shown.update(len(rows))
    files = [out / CHUNKS / f"{start:08d}.jsonl" for start in starts]
    if not all(file.is_file() for file in files):
        return None  # another shard's chunks are still to come
    parts = [file.read_text(encoding="utf-8") for file in files]
    atomic_write_text(out / PAIRS, "".join(parts))
    return out / PAIRS


def pairs_summary(out: Path) -> str:
    """One line on a pairs directory, finished or not."""
    out = Path(out)
    if not (out / PAIRS).is_file():
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        total = -(-manifest["sentences"] // manifest["chunk"])
        done = len(list((out / CHUNKS).glob("*.jsonl")))
        return f"{done} of {total} chunks are in {out}; the last shard to finish writes {PAIRS}"
    lines = (Path(out) / PAIRS).read_text(encoding="utf-8").splitlines()
    return f"{len(lines)} pairs in {Path(out) / PAIRS}"
