"""What the benchmarks share: the options of a run (output folder, threads, resume, eval-only), the
style-transfer benchmarks' test-time transfer options, and training a row (or reusing it with
``--eval-only``)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, Sequence, Tuple

from textvae.cli import pool_list
from textvae.io import atomic_write_text
from textvae.training import train


def add_run_arguments(parser: argparse.ArgumentParser, threads: int = 1) -> None:
    """``--out``, ``--threads``, ``--resume`` and ``--eval-only`` (used by :func:`train_or_reuse`)."""
    parser.add_argument("--out", default="benchmarks/runs")
    parser.add_argument("--threads", type=int, default=threads)
    parser.add_argument("--resume", action="store_true", help="continue a run that was stopped")
    parser.add_argument("--eval-only", action="store_true", help="score an existing run; no training")


def add_transfer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, help="corpus directory (default: the recipe's)")
    add_run_arguments(parser, threads=2)
    parser.add_argument("--strength", type=float, default=1.0, help="style strength of the test transfers")
    parser.add_argument("--beam", type=int, default=0, help="beam size of the test transfers (0: greedy)")
    parser.add_argument("--rerank", type=float, default=0.0, help="classifier reranking weight (with --beam)")
    parser.add_argument("--rerank-cycle", type=float, default=0.0, help="cycle (rebuild) reranking weight (with --beam)")
    parser.add_argument("--rerank-lm", type=float, default=0.0, help="language-model reranking weight (with --lm)")
    parser.add_argument("--lm", help="a textvae language model directory for --rerank-lm")
    parser.add_argument("--scorer", help="a textvae classifier directory that --rerank asks instead of the model's own")
    parser.add_argument("--samples", type=int, default=0,
                        help="sampled candidates added to the beam's for reranking (drawn with --top-p)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus threshold of --samples (1: plain sampling)")
    parser.add_argument("--pool-strengths", type=pool_list, default=[],
                        help="strengths whose beam candidates join --strength's for reranking, e.g. 1.1")
    parser.add_argument("--tuned", action="store_true",
                        help="transfer the test split with the model's tuned defaults (`textvae tune --model RUN`)")
    parser.add_argument("--method", choices=["model", "traverse"], default="model",
                        help="traverse: move the codes towards the target style (any model with a code)")
    parser.add_argument("--steps", type=int, default=50, help="--method traverse: gradient steps")
    parser.add_argument("--step-size", type=float, default=0.1, help="--method traverse: step size")
    parser.add_argument("overrides", nargs="*")


def transfer_options(args) -> Tuple[Dict, str, str]:
    """``(model.transfer keywords, a readable setting, a file-name tag)`` from the arguments."""
    if args.method == "traverse":
        return ({"steps": args.steps, "step_size": args.step_size},
                f"traverse (steps {args.steps}, step size {args.step_size:g})", f"traverse{args.steps}-{args.step_size:g}")
    if args.tuned:  # the model's own defaults, as `textvae tune` wrote them
        return {}, "the model's tuned defaults", "tuned"
    # every setting explicit, so that a model's tuned defaults never leak into a row
    options: Dict = {"strength": args.strength, "strategy": "beam" if args.beam > 1 else "greedy",
                     "rerank": args.rerank, "rerank_cycle": args.rerank_cycle, "rerank_lm": args.rerank_lm,
                     "pool_strengths": args.pool_strengths}
    if args.beam > 1:
        options.update(beam_size=args.beam)
    strengths = "+".join(f"{v:g}" for v in [args.strength, *args.pool_strengths])
    setting = f"strength {strengths}, " + (f"beam {args.beam}" if args.beam > 1 else "greedy")
    tag = f"strength{strengths}-beam{args.beam}"
    if args.samples:
        options.update(samples=args.samples, top_p=args.top_p)
        setting += f" + {args.samples} samples (top-p {args.top_p:g})"
        tag += f"-samples{args.samples}-topp{args.top_p:g}"
    for key, weight in (("rerank", args.rerank), ("rerank_cycle", args.rerank_cycle), ("rerank_lm", args.rerank_lm)):
        if weight:
            setting += f", {key.replace('_', ' ')} {weight:g}"
            tag += f"-{key.replace('_', '')}{weight:g}"
    if args.rerank_lm:
        import textvae

        options["lm"] = textvae.load(args.lm, device="cpu") if args.lm else None
        setting += f" ({Path(args.lm).name if args.lm else 'no LM'})"
    if args.rerank and args.scorer:
        import textvae

        options["scorer"] = textvae.load(args.scorer, device="cpu")
        setting += f" (style by {Path(args.scorer).name})"
        tag += "-scorer"
    return options, setting, tag


def train_or_reuse(config, out: Path, args) -> Tuple[Dict, float]:
    """Train the row (``--resume`` continues it) or, with ``--eval-only``, read what it trained;
    returns the training result and its minutes."""
    if args.eval_only:
        result = json.loads((out / "result.json").read_text())
        return result, result["elapsed"] / 60
    started = time.time()
    result = train(config, out, resume=args.resume, force=not args.resume)
    return result, (time.time() - started) / 60


def save_row(out: Path, tag: str, row: Dict, cells: Sequence[str]) -> None:
    """Write ``row-TAG.json`` next to the run and print the row's Markdown cells."""
    atomic_write_text(out / f"row-{tag}.json", json.dumps(row, indent=2) + "\n")
    print("| " + " | ".join(cells) + " |")
