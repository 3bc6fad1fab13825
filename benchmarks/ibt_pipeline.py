"""The issue-23 pipeline for one corpus and seed: the back-translation base model, the reranking
LM, direct-reward fine-tuning, distilled reranking (pairs, then training on them), and the test
rows of every stage, greedy and reranked. Every stage is skipped when its run is already there, so
a stopped pipeline is continued by running the same command again.

    python benchmarks/ibt_pipeline.py [--corpus yelp|amazon] [--seed 0] [--out benchmarks/runs]
        [--threads 1] [--stages base,lm,classifier,reward,pairs,distill,tune,rows] [--pairs-sentences 4000]
        [--beam 20 --rerank 4 --rerank-cycle 4 --rerank-lm 5] [--samples 0 --top-p 1] [--strength 1]
        [--pool-strengths S,...] [--scorer] [--pairs-max-ppl-ratio R] [--pairs-from reward|base]
        [--tune-min-accuracy 92] [--rounds 1] [--rerank-later W] [--shards 1] [--distill-minutes M] [--data DIR]
        [key=value ...]

Runs land in OUT/CORPUS-seedS/ (CORPUS_ibt_transformer, CORPUS_lm, CORPUS_ibt_reward, pairs_round1,
CORPUS_ibt_distill); each test row is printed and written next to its run by
benchmarks/transfer_model.py. With ``--scorer`` the style classifier trained on its own
(CORPUS_classifier, recipes/CORPUS_classifier.yaml) scores style in the reward, in the pairs'
reranking and in the reranked rows, and those stages' runs are named with ``-scorer``
(the base model and the LM are shared); with ``--strength S`` (style guidance, textvae.decoding.guidance)
the pairs and the reranked rows are searched with it, and the pairs and the distilled run are named
with ``-strengthS`` (with ``--pool-strengths``, the beams of those strengths join the reranked pool:
``-strengthS+P``); with ``--pairs-max-ppl-ratio R`` the distillation keeps only the pairs whose
transfer's perplexity under the LM is at most R times its source's (``model.distill.max_ppl_ratio``;
the distilled run is named with ``-pplR``); with ``--pairs-from base`` the reward stage is left out:
the pairs are the base model's, and CORPUS_ibt_distill_base (recipes/CORPUS_ibt_distill_base.yaml)
starts from the base (runs named ``pairs_base`` and ``CORPUS_ibt_distill_base``). The ``tune`` stage
picks the distilled model's greedy style strength on dev (``textvae tune --beam 0``: the most dev
self-BLEU with dev accuracy >= ``--tune-min-accuracy``), stores it with the model, and scores the
test split greedily at it. With ``--rounds R`` the pairs and the distillation are repeated R times
(runs named ``-rRofR``): each round's pairs are made by the model the round before distilled, from
new training sentences (draw seed SEED + 100 x (round - 1)), with ``--rerank-later`` as the style
weight of rounds 2 on, and that model is trained further on them, ``--distill-minutes`` each; the
tune stage and the rows are the last round's. ``--shards N`` makes each round's pairs with N
``textvae distill --shard`` processes side by side (chunks of 500). The budget per stage is the
recipe's (base 90 minutes, reward 30, distillation 15) plus the time the pairs take, which the
printed summary states. ``key=value`` overrides go to every training stage (``model.*`` ones not to
the LM; e.g. ``train.max_steps=30`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from textvae.transfer.defaults import TRANSFER_DEFAULTS_FILE, read_tuned

HERE = Path(__file__).resolve().parent
STAGES = ("base", "lm", "classifier", "reward", "pairs", "distill", "tune", "rows")
TUNE_STRENGTHS = "1,1.1,1.15,1.2,1.25,1.3,1.4"  # the distilled model's greedy strengths searched on dev


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="yelp", choices=("yelp", "amazon"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/runs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {', '.join(STAGES)}")
    parser.add_argument("--pairs-sentences", type=int, default=4000, help="training sentences distilled (balanced)")
    parser.add_argument("--beam", type=int, default=20)
    parser.add_argument("--rerank", type=float, default=4.0)
    parser.add_argument("--rerank-cycle", type=float, default=4.0)
    parser.add_argument("--rerank-lm", type=float, default=5.0)
    parser.add_argument("--samples", type=int, default=0,
                        help="sampled candidates reranked with the beam's, in the pairs and the reranked rows")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus threshold of --samples")
    parser.add_argument("--strength", type=float, default=1.0,
                        help="style guidance of the pairs' and the reranked rows' search (1: none)")
    parser.add_argument("--pool-strengths", default="",
                        help="comma-separated strengths whose beams join the pairs' and the reranked rows' pool")
    parser.add_argument("--scorer", action="store_true",
                        help="score style by CORPUS_classifier (trained on its own) instead of the model's own classifier")
    parser.add_argument("--pairs-max-ppl-ratio", type=float,
                        help="distil only the pairs whose transfer's LM perplexity is at most this times its source's")
    parser.add_argument("--pairs-from", default="reward", choices=("reward", "base"),
                        help="which model makes the pairs and starts the distillation (base: no reward stage)")
    parser.add_argument("--tune-min-accuracy", type=float, default=92.0,
                        help="the tune stage's dev accuracy bar for the distilled model's greedy strength")
    parser.add_argument("--rounds", type=int, default=1,
                        help="distillation rounds: each round's pairs are made by the model the round before "
                             "distilled (new training sentences each round), and train it further")
    parser.add_argument("--rerank-later", type=float,
                        help="the style weight of the later rounds' pairs (default --rerank): a distilled model's "
                             "beams need about twice the style weight for the same accuracy (session 27)")
    parser.add_argument("--shards", type=int, default=1,
                        help="processes that make the pairs side by side (textvae distill --shard), each with --threads")
    parser.add_argument("--distill-minutes", type=float,
                        help="each round's training budget (default: the distillation recipe's)")
    parser.add_argument("--data", help="corpus directory (default: the recipes')")
    parser.add_argument("overrides", nargs="*", help="key=value for every training stage")
    args = parser.parse_args()
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        print(f"ibt_pipeline: unknown stage(s) {', '.join(unknown)}; the stages are {', '.join(STAGES)}", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.shards < 1 or (args.distill_minutes is not None and not args.distill_minutes > 0):
        print("ibt_pipeline: --rounds and --shards must be at least 1 and --distill-minutes positive", file=sys.stderr)
        return 2
    out = Path(args.out) / f"{args.corpus}-seed{args.seed}"
    c = args.corpus
    from_base = args.pairs_from == "base"
    distill_recipe = f"{c}_ibt_distill_base" if from_base else f"{c}_ibt_distill"
    if not (HERE.parent / "recipes" / f"{distill_recipe}.yaml").exists():
        print(f"ibt_pipeline: there is no recipe {distill_recipe}.yaml for --pairs-from {args.pairs_from}", file=sys.stderr)
        return 2
    tail = "-scorer" if args.scorer else ""
    pool = [float(v) for v in args.pool_strengths.split(",") if v.strip()]
    strengths = "+".join(f"{v:g}" for v in [args.strength, *pool])
    guided = f"-strength{strengths}" if args.strength != 1 or pool else ""  # the pairs' search, so what is distilled
    filtered = f"-ppl{args.pairs_max_ppl_ratio:g}" if args.pairs_max_ppl_ratio else ""
    base, lm, reward = out / f"{c}_ibt_transformer", out / f"{c}_lm", out / f"{c}_ibt_reward{tail}"
    classifier = out / f"{c}_classifier"
    # round r of R (named -rRofR when R > 1): the pairs of the model before (the base or the reward
    # model first), then that model trained on them
    teacher = base if from_base else reward  # makes the pairs and starts the distillation
    rounds = []
    for r in range(1, args.rounds + 1):
        of = f"-r{r}of{args.rounds}" if args.rounds > 1 else ""
        pairs = out / f"pairs_{'base' if from_base else 'round1'}{tail}{guided}{of}"
        distill = out / f"{distill_recipe}{tail}{guided}{filtered}{of}"
        style = args.rerank if r == 1 or args.rerank_later is None else args.rerank_later
        rounds.append((teacher, pairs, distill, args.seed + 100 * (r - 1), style))  # new sentences each round
        teacher = distill
    runs = (base, distill) if from_base else (base, reward, distill)  # the runs with test rows (the last round's)
    if from_base:
        stages = [s for s in stages if s != "reward"]
    if not args.scorer:
        stages = [s for s in stages if s != "classifier"]
    common = ["--threads", str(args.threads), "--out", str(out)]
    seed = [f"seed={args.seed}"] + ([f"data.path={args.data}"] if args.data else []) + args.overrides
    rerank = ["--strength", str(args.strength), "--beam", str(args.beam), "--rerank", str(args.rerank), "--rerank-cycle", str(args.rerank_cycle),
              "--rerank-lm", str(args.rerank_lm), "--lm", str(lm)] + (["--scorer", str(classifier)] if args.scorer else [])
    drawn = ["--samples", str(args.samples), "--top-p", str(args.top_p)] if args.samples else []
    drawn += ["--pool-strengths", ",".join(map(str, pool))] if pool else []
    rerank += drawn
    minutes = {}

    def step(name, command, done: Path, shards: int = 1):
        """Run ``command`` unless ``done`` is there; with ``shards``, that many copies side by side,
        the k-th with ``--shard k/shards``."""
        if name not in stages:
            return
        if done.exists():
            print(f"[{name}] already there: {done}", flush=True)
            return
        print(f"[{name}] {' '.join(command)}" + (f" --shard K/{shards}" if shards > 1 else ""), flush=True)
        started = time.time()
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}  # textvae distill has no --threads
        copies = [command + ["--shard", f"{k}/{shards}"] for k in range(shards)] if shards > 1 else [command]
        running = [subprocess.Popen(copy, env=env) for copy in copies]
        failed = [p.args for p in running if p.wait() != 0]
        if failed:
            raise subprocess.CalledProcessError(1, failed[0])
        minutes[name] = minutes.get(name, 0.0) + (time.time() - started) / 60

    model_row = [sys.executable, str(HERE / "transfer_model.py")]
    step("base", model_row + [f"{c}_ibt_transformer"] + common + seed, base / "result.json")
    step("lm", [sys.executable, "-m", "textvae", "train", str(HERE.parent / "recipes" / f"{c}_lm.yaml"), "--out",
                str(lm), f"train.threads={args.threads}"] + [o for o in seed if not o.startswith("model.")],
         lm / "result.json")
    step("classifier", [sys.executable, "-m", "textvae", "train", str(HERE.parent / "recipes" / f"{c}_classifier.yaml"),
                        "--out", str(classifier), f"train.threads={args.threads}"]
         + [o for o in seed if not o.startswith("model.")], classifier / "result.json")
    scored = [f"model.reward.scorer={classifier}"] if args.scorer else []
    step("reward", model_row + [f"{c}_ibt_reward", "--name", reward.name] + common + seed
         + [f"train.init_from={base}", f"model.reward.lm={lm}"] + scored, reward / "result.json")
    budget = [f"train.max_minutes={args.distill_minutes:g}"] if args.distill_minutes else []
    for teacher, pairs, distill, draw, style in rounds:
        step("pairs", [sys.executable, "-m", "textvae", "distill", "--model", str(teacher), "--out", str(pairs), "--resume",
                       "--sentences", str(args.pairs_sentences), "--draw-seed", str(draw), "--beam", str(args.beam),
                       "--strength", str(args.strength),
                       "--strategy", "beam", "--rerank", str(style), "--rerank-cycle", str(args.rerank_cycle),
                       "--rerank-lm", str(args.rerank_lm), "--lm", str(lm)] + drawn
             + (["--scorer", str(classifier)] if args.scorer else [])
             + (["--chunk", "500"] if args.shards > 1 else []),  # (chunks small enough to share out)
             pairs / "pairs.jsonl", shards=args.shards)
        step("distill", model_row + [distill_recipe, "--name", distill.name] + common + seed + budget
             + [f"train.init_from={teacher}", f"model.reward.lm={lm}", f"model.distill.pairs={pairs}"] + scored
             + ([f"model.distill.lm={lm}", f"model.distill.max_ppl_ratio={args.pairs_max_ppl_ratio}"] if filtered else []),
             distill / "result.json")
    step("tune", [sys.executable, "-m", "textvae", "tune", "--model", str(distill), "--strength", TUNE_STRENGTHS,
                  "--beam", "0", "--min-accuracy", str(args.tune_min_accuracy)], distill / "model" / TRANSFER_DEFAULTS_FILE)
    if "tune" in stages:  # the greedy test row at the strength the tune stage chose
        chosen = read_tuned(distill / "model")["settings"]["strength"]
        step("tune", model_row + [distill_recipe, "--name", distill.name, "--eval-only", "--strength", str(chosen)]
             + common, distill / f"row-strength{chosen:g}-beam0.json")
    if "rows" in stages:  # the reranked rows (the greedy ones came with training)
        tag = (f"strength{strengths}-beam{args.beam}" + (f"-samples{args.samples}-topp{args.top_p:g}" if args.samples else "")
               + f"-rerank{args.rerank:g}-rerankcycle{args.rerank_cycle:g}-reranklm{args.rerank_lm:g}") + tail
        for run in runs:
            recipe = {base: f"{c}_ibt_transformer", reward: f"{c}_ibt_reward"}.get(run, distill_recipe)
            step("rows", model_row + [recipe, "--name", run.name, "--eval-only"] + common + rerank,
                 run / f"row-{tag}.json")
            stages.append("rows")  # every run's row, each skipped when there
    summary = {"stages_minutes_this_call": minutes}
    for run in runs:
        for row in sorted(run.glob("row-*.json")):
            r = json.loads(row.read_text())
            o = r["overall"]
            summary[f"{run.name} {r['transfer']}"] = {"steps": r["steps"], "train_minutes": round(r["minutes"], 1),
                                                      "accuracy": round(100 * o["accuracy"], 1),
                                                      "self_bleu": round(o["self_bleu"], 1),
                                                      "ngram_ppl_ratio": round(o["ngram_ppl"] / o["source_ngram_ppl"], 2)}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
