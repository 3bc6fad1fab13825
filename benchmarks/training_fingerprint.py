"""Training fingerprint: does a change alter what the recipes train?

    python benchmarks/training_fingerprint.py --out FILE.json [--cases ae dis ...]
    python benchmarks/training_fingerprint.py --compare OLD.json NEW.json

Trains tiny versions of every model family (20 steps each, fp32, one thread, the synthetic
corpus, every loss term of each family switched on) and writes every logged training and dev
metric. Run it with the code before and after a refactor (e.g. from a ``git worktree`` of the old
commit, with ``PYTHONPATH`` pointing at it) and compare: a refactor that keeps every recipe's
training the same shows ``max |diff| 0`` for every case. Used for issue 20 (the model seam);
results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

import textvae
from textvae.config import load_recipe
from textvae.errors import TextvaeError, run_script
from textvae.training import train

RECIPES = Path(textvae.__file__).resolve().parent.parent / "recipes"  # the recipes of the textvae being run
TINY = ["data.path=synthetic:600", "tokenizer.vocab_size=200", "model.embedding_dim=32",
        "model.decoder.hidden_size=32", "train.max_tokens=512", "train.max_sentences=32",
        "train.eval_every=10", "train.checkpoint_every=10", "train.log_every=1", "train.eval_max_sentences=64",
        "train.max_minutes=null", "train.max_steps=20", "train.amp=off", "train.eval_transfer_sentences=40",
        "train.threads=1"]
SMALL = ["model.encoder.hidden_size=32"]
CASES = {
    "ae": ("synthetic_ae", SMALL + ["model.latent.dim=16", "model.noise.word_dropout=0.1",
                                    "model.noise.shuffle_window=3"]),
    "bnvae": ("synthetic_bnvae", SMALL + ["model.latent.dim=8", "model.loss.free_bits.type=per_dim",
                                          "model.loss.free_bits.nats=0.1", "model.decoder.word_dropout.value=0.2",
                                          "model.loss.mmd_weight=1.0"]),
    "lm": ("synthetic_lm", []),
    "vae_tf": ("synthetic_vae", ["model.encoder.type=transformer", "model.encoder.hidden_size=32",
                                 "model.decoder.type=transformer", "model.decoder.ff_size=64",
                                 "model.encoder.ff_size=64", "model.latent.dim=8"]),
    "dis": ("synthetic_disentangled_vae", SMALL + [
        "model.latent.dim=16", "model.style.dim=4", "model.style.multitask=10", "model.style.adversarial=1",
        "model.style.content_multitask=3", "model.style.content_adversarial=0.03", "model.style.content_mmd=1",
        "model.style.discriminator_steps=2", "model.style.content_vocab=50"]),
    "ibt_gru": ("synthetic_ibt_gru", SMALL + ["model.cycle.warmup_steps=5", "model.cycle.style_weight.value=1.0",
                                             "model.cycle.style_fraction=0.5"]),
    "ibt_tf": ("synthetic_ibt_transformer", SMALL + [
        "model.encoder.ff_size=64", "model.decoder.ff_size=64", "model.cycle.warmup_steps=5",
        "model.cycle.style_weight.value=1.0", "model.cycle.style_relaxation=greedy_prefix"]),
}
IGNORED = ("elapsed", "time")


def fingerprint(cases, out_dir: Path) -> dict:
    result = {}
    for name in cases:
        recipe, extra = CASES[name]
        run = out_dir / name
        summary = train(load_recipe(RECIPES / f"{recipe}.yaml", TINY + extra), run, force=True)
        metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        result[name] = {"metrics": metrics, "dev": summary.get("dev"), "test": summary.get("test")}
    return result


def compare(old: dict, new: dict) -> None:
    print("| case | logged rows (old/new) | max abs diff | keys only in one |")
    print("|---|---:|---:|---|")
    for name in old:
        if name not in new:
            print(f"| {name} | missing in the new run | | |")
            continue
        worst, only = 0.0, set()
        for a, b in zip(old[name]["metrics"], new[name]["metrics"]):
            for key, value in a.items():
                if key in IGNORED:
                    continue
                if key not in b:
                    only.add(f"-{key}")
                elif isinstance(value, (int, float)) and isinstance(b[key], (int, float)):
                    worst = max(worst, abs(value - b[key]))
            only |= {f"+{key}" for key in b if key not in a}
        rows = f"{len(old[name]['metrics'])}/{len(new[name]['metrics'])}"
        print(f"| {name} | {rows} | {worst:.3g} | {', '.join(sorted(only)) or '-'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON file for this code's fingerprint")
    parser.add_argument("--cases", nargs="*", choices=sorted(CASES), help="default: all")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="compare two fingerprint files")
    args = parser.parse_args()
    if args.compare:
        files = [Path(p) for p in args.compare]
        for file in files:
            if not file.is_file():
                raise TextvaeError(f"{file} does not exist; write it with --out first")
        compare(*(json.loads(f.read_text()) for f in files))
        return
    if not args.out:
        raise TextvaeError("give --out FILE.json (or --compare OLD NEW)")
    out = Path(args.out)
    if out.is_dir():
        raise TextvaeError(f"--out {out} is a directory; give a file name")
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        result = fingerprint(args.cases or list(CASES), Path(tmp))
    torch.set_num_threads(threads)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    run_script(main)
