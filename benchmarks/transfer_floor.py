"""Evaluation-suite benchmark (issue 4): trivial transfer systems as a floor, and the suite's speed.

    python benchmarks/transfer_floor.py [--data ../shared/data/yelp] [--out benchmarks/runs/transfer_floor]

Systems, each writing ``OUT/SYSTEM.0`` and ``OUT/SYSTEM.1`` for the test split:

- ``copy``: the source sentence unchanged;
- ``random``: a random training sentence of the target style (seeded);
- ``swap``: every mined style word of the source style replaced by its opposite, the target-style
  lexicon word closest to it in the corpus word vectors ("rude" -> "friendly").

The first evaluation trains and caches the judge, word vectors and fluency LM (timed separately);
then each system is scored with ``textvae evaluate transfer`` in a fresh process (timed end to
end, cached artefacts), twice, and the two score files must be identical.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from textvae.data.corpus import load_corpus
from textvae.errors import run_script
from textvae.evaluation.transfer import TransferEvaluator
from textvae.io import atomic_write_text
from textvae.training import train  # trains the evaluation's fluency LM the first time


def opposites(evaluator: TransferEvaluator, source: int, target: int) -> dict:
    """Each style word of ``source`` mapped to the closest (cosine) style word of ``target``."""
    vectors = evaluator.similarity
    theirs = [w for w, _ in evaluator.lexicon[target]]
    matrix = np.stack([vectors.vector([w]) for w in theirs])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    mapping = {}
    for word, _ in evaluator.lexicon[source]:
        v = vectors.vector([word])
        mapping[word] = theirs[int(np.argmax(matrix @ (v / (np.linalg.norm(v) + 1e-9))))]
    return mapping


def systems(evaluator: TransferEvaluator, split: str, seed: int = 0) -> dict:
    corpus = evaluator.corpus
    texts, labels = corpus.texts(split), corpus.labels(split)
    train, train_labels = corpus.texts("train"), corpus.labels("train")
    rng = random.Random(seed)
    out = {"copy": {}, "random": {}, "swap": {}}
    for a in range(len(corpus.label_names)):
        b = 1 - a
        sources = [t for t, y in zip(texts, labels) if y == a]
        pool = [t for t, y in zip(train, train_labels) if y == b]
        swap = opposites(evaluator, a, b)
        out["copy"][a] = sources
        out["random"][a] = [rng.choice(pool) for _ in sources]
        out["swap"][a] = [" ".join(swap.get(w, w) for w in s.split()) for s in sources]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "yelp"))
    parser.add_argument("--out", default="benchmarks/runs/transfer_floor")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    corpus = load_corpus(args.data)
    evaluator = TransferEvaluator(corpus, train_lm=train)
    print(f"judge, word vectors, fluency LM and lexicon ready in {time.time() - started:.0f} s "
          f"(judge dev accuracy {100 * evaluator.judge.dev_accuracy:.2f}%)", flush=True)
    rows = {}
    for name, outputs in systems(evaluator, args.split).items():
        for a, lines in outputs.items():
            atomic_write_text(out / f"{name}.{a}", "".join(line + "\n" for line in lines))
        scores, seconds = [], []
        for run in (1, 2):
            target = out / f"{name}.scores.{run}.json"
            started = time.time()
            subprocess.run([sys.executable, "-m", "textvae", "evaluate", "transfer", "--data", args.data,
                            "--split", args.split, "--outputs", str(out / name), "--output", str(target),
                            "--force", "--format", "json"], check=True, stdout=subprocess.DEVNULL)
            seconds.append(time.time() - started)
            scores.append(json.loads(target.read_text()))
        assert scores[0] == scores[1], f"{name}: two evaluations differ"
        rows[name] = {**scores[0]["directions"]["overall"], "seconds": seconds}
        r = rows[name]
        print(f"| {name} | {100 * r['accuracy']:.1f} | {r['self_bleu']:.1f} | {r['similarity']:.3f} | "
              f"{r['overlap']:.3f} | {r['ppl']:.1f} | {r['source_ppl']:.1f} | {r['gm']:.1f} | {r['mean']:.1f} | "
              f"{seconds[0]:.1f} / {seconds[1]:.1f} s |", flush=True)
    atomic_write_text(out / "rows.json", json.dumps({"describe": evaluator.describe(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    run_script(main)
