"""The ``textvae`` command: parses arguments, then calls library functions.

Exit codes: 0 success, 2 bad input (one-line message), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from textvae import __version__
from textvae.errors import TextvaeError
from textvae.runtime import keep_freed_memory

log = logging.getLogger("textvae")

VAE_CARD_KEYS = ("nll", "ppl", "kl", "mi", "active_units", "recon_bleu")  # shown on the model card
SUMMARY_METRICS = ("loss", "elbo", "kl", "nll_token", "token_acc", "recon_acc", "recon_exact")


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with code 2 and one line."""

    def error(self, message: str):
        raise TextvaeError(f"{self.prog}: {message}")


# ----------------------------------------------------------------------------- verbs


def cmd_train(args) -> int:
    import textvae.models  # noqa: F401  (registers the model types recipes name)
    from textvae.config import load_recipe
    from textvae.training import train

    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data.path={args.data_dir}")
    config = load_recipe(args.recipe, overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    result = train(config, out, resume=args.resume, force=args.force)
    if result.get("world_size", 1) > 1 and not _is_rank_zero():
        return 130 if result["stopped"] == "interrupted" else 0
    if result["stopped"] == "interrupted":
        print(f"textvae: interrupted at step {result['step']}; checkpoint and model saved in {out}: continue with "
              f"textvae train {args.recipe} --out {out} --resume", file=sys.stderr)
        return 130
    print(f"trained {result['step']} steps ({result['stopped']}, {result['elapsed'] / 60:.1f} min); "
          f"model saved to {result['model']}")
    for split in ("dev", "test"):
        metrics = result.get(split) or {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k in SUMMARY_METRICS)
        if shown:
            print(f"{split}: {shown}")
    return 0


def _is_rank_zero() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def cmd_data_stats(args) -> int:
    from textvae.data.corpus import load_corpus
    from textvae.data.stats import corpus_stats, format_stats

    corpus = load_corpus(args.source, text_column=args.text_column, label_column=args.label_column,
                         max_tokens=args.max_tokens)
    stats = corpus_stats(corpus)
    print(json.dumps(stats, indent=2) if args.format == "json" else format_stats(stats))
    return 0


def cmd_data_fetch(args) -> int:
    from textvae.data.fetch import fetch

    dest = fetch(args.name, args.dest, from_dir=args.from_dir, force=args.force)
    print(f"{args.name} is ready in {dest}")
    return 0


def cmd_data_synthetic(args) -> int:
    from textvae.data.factors import write_factor_corpus
    from textvae.data.synthetic import write_synthetic_corpus

    write = write_factor_corpus if args.factors else write_synthetic_corpus
    dest = write(args.dest, n_train=args.train, n_dev=args.dev, n_test=args.test, seed=args.seed, force=args.force)
    print(f"wrote the {'factor' if args.factors else 'synthetic'} corpus to {dest}")
    return 0


def cmd_data_synthetic_mt(args) -> int:
    from textvae.data.synthetic import synthetic_splits
    from textvae.data.synthetic_mt import write_synthetic_mt

    dest = Path(args.dest)
    if dest.exists() and any(dest.iterdir()) and not args.force:
        raise TextvaeError(f"{dest} exists; pass --force to replace the translation models in it")
    texts = [e.text for e in synthetic_splits(n_train=args.sentences, n_dev=1, n_test=1, seed=args.seed)["train"]]
    scores = write_synthetic_mt(dest, texts, steps=args.steps, seed=args.seed)
    print(f"wrote {dest / 'en-pivot'} and {dest / 'pivot-en'} (exact match on training pairs: "
          + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()) + ")")
    return 0


def read_sentences(source: str, option: str = "--input") -> List[str]:
    """The lines of a UTF-8 file, or of standard input for ``-`` (stripped; blank ones kept so
    that output line i answers input line i); ``option`` names the flag in error messages."""
    if source == "-":
        name, data = "standard input", sys.stdin.buffer.read()
    else:
        path = Path(source)
        if path.is_dir():
            raise TextvaeError(f"{option} {path} is a directory, not a file; pass a file with one sentence a line")
        if not path.exists():
            raise TextvaeError(f"{option} file {path} does not exist")
        try:
            name, data = f"{option} file {path}", path.read_bytes()
        except OSError as exc:
            raise TextvaeError(f"cannot read {option} file {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TextvaeError(f"{name} is not valid UTF-8 (line {line}); convert it, e.g. with iconv -t utf-8") from None
    return [line.strip() for line in text.splitlines()]


def map_nonblank(fn, lines: Sequence[str], desc: str = "", chunk: int = 1024) -> list:
    """``fn`` on the non-blank lines, ``chunk`` at a time with a progress bar (sentences per
    second on stderr, see :mod:`textvae.progress`); blank lines come back blank, in place."""
    from textvae.progress import bar

    keep = [i for i, line in enumerate(lines) if line]
    out: list = [""] * len(lines)
    with bar(len(keep), desc) as shown:
        for start in range(0, len(keep), chunk):
            rows = keep[start:start + chunk]
            for i, result in zip(rows, fn([lines[i] for i in rows])):
                out[i] = result
            shown.update(len(rows))
    return out


def output_file(output, force: bool) -> Path:
    """``output`` checked before any work: not a directory, and not overwritten without --force."""
    from textvae.io import check_writable

    if Path(output).is_dir():
        raise TextvaeError(f"output {output} is a directory; pass a file name")
    return check_writable(output, force)


def write_sentences(lines: Sequence[str], output: Optional[Path]) -> None:
    """Write to ``output``, or to standard output when it is None."""
    from textvae.io import atomic_write_text

    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(output, text)


def sentences_output(args) -> Optional[Path]:
    """The checked --output of reconstruct/transfer; None for standard output."""
    return output_file(args.output, args.force) if args.output and args.output != "-" else None


def add_quiet(p) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


def add_decode_options(p, reranked: bool = False) -> None:
    """The decoding options; ``reranked``: the command reranks transfers (``--samples`` joins them)."""
    g = p.add_argument_group("decoding")
    # strategy, beam and length penalty default to None: `transfer` then takes the model's own
    # (tuned) settings, the other commands greedy / 5 / 1.0
    g.add_argument("--strategy", choices=["greedy", "beam", "sample"], default=None,
                   help="default: greedy (transfer: the model's tuned setting, if any)")
    g.add_argument("--beam", type=int, default=None, dest="beam_size", help="beam size (--strategy beam; default 5)")
    g.add_argument("--length-penalty", type=finite_float, default=None,
                   help="beam ranking divides log-probabilities by length ** this (0 = raw; default 1)")
    g.add_argument("--n-best", type=int, default=1, help="hypotheses per sentence (beam), tab-separated")
    if reranked:
        g.add_argument("--samples", type=int, default=None,
                       help="beam with reranking: also rerank this many sampled candidates per sentence (drawn "
                            "with --temperature / --top-k / --top-p; default 0, or the model's setting)")
    g.add_argument("--temperature", type=finite_float, default=1.0)
    g.add_argument("--top-k", type=int, default=0, help="sample from the k most likely tokens (0 = all)")
    g.add_argument("--top-p", type=finite_float, default=None,
                   help="nucleus sampling threshold (1 = off; default 1" + (", or the model's setting)" if reranked
                                                                             else ")"))
    g.add_argument("--seed", type=int, default=0, help="sampling seed")
    g.add_argument("--max-len", type=int, default=None, help="maximum output tokens (default: 2 x input + 5)")
    g.add_argument("--batch-size", type=int, default=256)
    g.add_argument("--no-cache", dest="cache", action="store_false",
                   help="re-read the whole prefix every step (slow; for comparison)")
    g.add_argument("--amp", choices=["auto", "bf16", "fp16", "none"], default="auto",
                   help="autocast on CUDA (auto: bf16 where supported)")
    g.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false")
    g.add_argument("--no-pin-memory", dest="pin_memory", action="store_false")
    g.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the decoder step (a minute of compiling; pays off on large inputs)")


DECODE_KEYS = ("strategy", "beam_size", "length_penalty", "n_best", "samples", "temperature", "top_k", "top_p", "seed",
               "max_len", "batch_size", "cache", "amp", "cuda_graphs", "pin_memory", "compile")


def decode_options(args) -> dict:
    from textvae.decoding import DecodeOptions

    options = {key: getattr(args, key) for key in DECODE_KEYS if getattr(args, key, None) is not None}
    # bad values stop here, before the model is loaded (samples without a strategy: the model's may be beam)
    DecodeOptions(**({"strategy": "beam"} if "samples" in options and "strategy" not in options else {}), **options)
    if options.get("compile"):
        from textvae.runtime import compile_unavailable

        reason = compile_unavailable(getattr(args, "device", None) or "cpu")
        if reason:
            raise TextvaeError(f"--compile: {reason}; decode without --compile")
    return options


def number(kind: type = float, low: Optional[float] = None, high: Optional[float] = None,
           above: bool = False) -> Callable[[str], Any]:
    """argparse type: a finite number of ``kind`` in a range (``low`` excluded with ``above``), so
    NaN, infinity and out-of-range values stop at parsing with the option's name, before any work."""
    import math

    if above:
        bound = f"above {low:g}"
    else:
        bound = " and ".join(part for part in (f"at least {low:g}" if low is not None else "",
                                               f"at most {high:g}" if high is not None else "") if part)
    noun = "an integer" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if (low is not None and (value <= low if above else value < low)) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {noun} {bound}, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


finite_float = number(float)
count = number(int, 1)  # a number of sentences, steps, samples, ...
seed_int = number(int, 0, 2 ** 32 - 1)


def shard_spec(text: str) -> Tuple[int, int]:
    """argparse type: ``K/N``, the K-th (0-based) of N shards."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N (e.g. 0/2), got {text!r}") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"expected 0 <= K < N, got {text!r}")
    return k, n


def nbest_lines(results) -> List[str]:
    return [r if isinstance(r, str) else "\t".join(r) for r in results]


def cmd_reconstruct(args) -> int:
    import textvae

    options = decode_options(args)
    output = sentences_output(args)
    model = textvae.load(args.model, device=args.device)
    lines = read_sentences(args.input)
    write_sentences(nbest_lines(map_nonblank(lambda x: model.reconstruct(x, **options), lines, "reconstruct")), output)
    return 0


def cmd_transfer(args) -> int:
    import textvae

    options = decode_options(args)
    output = sentences_output(args)
    model = textvae.load(args.model, device=args.device)
    if args.to and args.to not in model.label_names:
        raise TextvaeError(f"unknown style '{args.to}'; this model knows: {', '.join(model.label_names)}")
    if args.method == "traverse":
        return _transfer_by_manipulation(args, model, options, output)
    model.check_transfer()
    if not args.interactive and not args.to:
        raise TextvaeError("textvae transfer: --to STYLE is required (one of: " + ", ".join(model.label_names) + ")")
    from textvae.transfer.defaults import DECODING_KEYS

    settings = settings_from_args(args, model, options)  # a missing or wrong LM is refused before input is read
    if model.transfer_defaults:
        from textvae.transfer.defaults import BUILT_IN

        changed = [f"{k} {shown_setting(v)}" for k, v in settings.items() if v != BUILT_IN[k]]
        log.info("transfer settings: %s (the model's defaults, %s; options override them)",
                 ", ".join(changed) or "the built-in ones", model.transfer_defaults_source)
    if args.interactive:
        from textvae.transfer.interactive import run_interactive

        decoding = {key: settings.pop(key) for key in DECODING_KEYS}
        return run_interactive(model, {**options, **decoding}, **settings, stdin=sys.stdin, stdout=sys.stdout)
    lines = read_sentences(args.input)
    results = map_nonblank(lambda x: model.transfer(x, to=args.to, **settings, **options), lines, "transfer")
    write_sentences(nbest_lines(results), output)
    return 0


def add_transfer_settings(p) -> None:
    """The transfer settings a model's defaults may give (None: not given), for transfer and distill."""
    p.add_argument("--strength", type=finite_float, default=None,
                   help="how far to move the style code towards the target style (1 = all the way); for "
                        "back-translation models, style guidance: each step's log-probabilities pushed away "
                        "from the other styles' (1 = plain decoding, 2 = twice as far, 0 = the other style)")
    p.add_argument("--rerank", type=finite_float, default=None, metavar="WEIGHT",
                   help="with beam search: choose among the beam's candidates by their score plus WEIGHT x "
                        "the log-probability the model's own style classifier gives the target style "
                        "(back-translation models; split-latent models with the multitask style head), or "
                        "the classifier --scorer (any transfer model)")
    p.add_argument("--rerank-cycle", type=finite_float, default=None, metavar="WEIGHT",
                   help="with beam search: also subtract WEIGHT x the per-token NLL of rebuilding the source "
                        "from each candidate (content preservation; style_seq2seq and split-latent models)")
    p.add_argument("--rerank-lm", type=finite_float, default=None, metavar="WEIGHT",
                   help="with beam search: also subtract WEIGHT x each candidate's per-token NLL under the "
                        "language model --lm (fluency)")
    p.add_argument("--lm", metavar="DIR",
                   help="a textvae language model (trained with latent type none, e.g. recipes/yelp_lm.yaml) "
                        "for --rerank-lm")
    p.add_argument("--pool-strengths", type=pool_list, default=None, metavar="S[,S...]",
                   help="with beam search and reranking: also decode the beam at these strengths and rerank the "
                        "union (e.g. --strength 1 --pool-strengths 1.1: plain and guided candidates); none: no pool")
    add_scorer_argument(p)


def add_scorer_argument(p) -> None:
    p.add_argument("--scorer", metavar="DIR",
                   help="a style classifier trained on its own (model type classifier, e.g. "
                        "recipes/yelp_classifier.yaml) that --rerank asks instead of the model's own classifier, "
                        "which the generator learnt to please during training")


def shown_setting(value) -> object:
    """A setting as the logs show it: a loaded model (the LM, the scorer) by its directory."""
    return getattr(value, "path", value)


def settings_from_args(args, model, options: dict) -> dict:
    """Every transfer setting from the options given over the model's defaults (the decoding
    ones are taken out of ``options``); the LM and the scorer are loaded here, before any input is
    read."""
    from textvae.api import load_language_model, load_style_scorer
    from textvae.transfer.defaults import DECODING_KEYS

    lm = load_language_model(args.lm, device=args.device) if args.lm else None
    scorer = load_style_scorer(args.scorer, model.label_names, device=args.device) if args.scorer else None
    decoding = {key: options.pop(key) for key in DECODING_KEYS if key in options}
    return model.transfer_settings(args.strength, args.rerank, args.rerank_cycle, args.rerank_lm, lm, scorer,
                                   pool_strengths=args.pool_strengths, **decoding)


def number_list(kind: type, low: Optional[float] = None, above: bool = False) -> Callable[[str], list]:
    """argparse type: comma-separated finite numbers of ``kind``, each in the range of :func:`number`."""
    one = number(kind, low, above=above)

    def parse(text: str) -> list:
        values = [one(v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
        return values

    return parse


def pool_list(text: str) -> list:
    """argparse type of --pool-strengths: comma-separated strengths, or none (no pool)."""
    return [] if text.strip().lower() in ("", "none") else number_list(float, 0)(text)


pool_list.__name__ = "strengths"


def cmd_tune(args) -> int:
    import textvae
    from textvae.api import load_language_model, load_style_scorer
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.transfer_dev import DevSample
    from textvae.io import atomic_write_text
    from textvae.transfer.defaults import MODELS_KEYS, write_tuned
    from textvae.transfer.tune import TuneRule, check_grid, default_grid, format_table, tune, tuned_record

    json_out = output_file(args.json, args.force) if args.json else None
    model = textvae.load(args.model, device=args.device)
    model.check_transfer()
    lm = load_language_model(args.lm, device=args.device) if args.lm else None
    scorer = load_style_scorer(args.scorer, model.label_names, device=args.device) if args.scorer else None
    grid = default_grid(model.model, model.label_names, lm, scorer)
    for key in ("strengths", "beams", "rerank", "cycle", "lm_weight", "samples"):
        if getattr(args, key) is not None:
            setattr(grid, key, getattr(args, key))
    grid.pool = args.pool
    check_grid(grid, model, lm, scorer)  # before the fluency LM and the judge are built
    if args.top_p != 1.0 and not any(grid.samples):
        log.warning("tune: --top-p %g has no effect without sampled candidates (--samples)", args.top_p)
    corpus = load_corpus(args.data or model.config.data.path)
    if args.split not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} has no {args.split} split")
    if list(corpus.label_names) != list(model.label_names):
        raise TextvaeError(f"corpus {corpus.source} has styles {list(corpus.label_names)}, the model "
                           f"{model.label_names}; tune on the corpus the model was trained on")
    fluency_lm = None
    if not args.no_fluency:
        from textvae.evaluation.fluency import cached_corpus_lm
        from textvae.training import train  # trains the corpus fluency LM the first time

        fluency_lm = cached_corpus_lm(corpus, train=train)[0]
    sentences = args.sentences or model.config.train.eval_transfer_sentences
    sample = DevSample(corpus, model.config.seed, sentences, split=args.split, fluency_lm=fluency_lm)
    rule = TuneRule(args.min_accuracy, None if args.no_fluency else args.max_ppl_ratio)
    rows: list = []

    def on_row(row):
        rows.append(row)
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(rows, indent=1) + "\n")

    log.info("tuning %d settings on %d %s sentences", grid.size(), len(sample.sources), args.split)
    result = tune(model, sample, grid, rule, lm=lm, scorer=scorer, on_row=on_row, top_p=args.top_p)
    print(format_table(result["rows"], result["choice"]), end="")
    settings, record = tuned_record(result, args.split, str(Path(args.lm).resolve()) if args.lm else None, grid,
                                    str(Path(args.scorer).resolve()) if args.scorer else None)
    print(f"\nrule: {result['rule']}" + ("" if result["met"] else " (no row met the accuracy bar)"))
    print("chosen: " + ", ".join(f"{k} {v}" for k, v in settings.items()))
    if args.no_write:
        return 0
    file = write_tuned(model.path, settings, record)
    from textvae.modeldir import record_evaluation

    record_evaluation(model.path, "tune", args.split, {k: v for k, v in record["dev"].items()},
                      chosen=", ".join(f"{k} {v}" for k, v in settings.items() if k not in MODELS_KEYS),
                      sentences=record["sentences"], corpus=corpus.source)
    print(f"saved to {file}; textvae transfer uses these unless an option overrides them")
    return 0


def cmd_serve(args) -> int:
    import ipaddress

    import textvae
    from textvae.api import load_language_model, load_style_scorer
    from textvae.transfer.interactive import cached_judge_for
    from textvae.transfer.web import TransferService, make_server

    model = textvae.load(args.model, device=args.device)
    lm = load_language_model(args.lm, device=args.device) if args.lm else None
    scorer = load_style_scorer(args.scorer, model.label_names, device=args.device) if args.scorer else None
    server = make_server(TransferService(model, lm=lm, judge=cached_judge_for(model), scorer=scorer), args.host,
                         args.port)
    host, port = server.server_address[:2]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        log.warning("serving on %s: anyone who can reach this machine can use the page", host)
    print(f"textvae serve: http://{host}:{port}/ ({model.config.name}); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_distill(args) -> int:
    import textvae
    from textvae.data.corpus import load_corpus
    from textvae.transfer.distill import balanced_sample, check_out, distill_pairs, pairs_summary

    out = Path(args.out)
    if args.shard[1] > 1 and args.force:
        raise TextvaeError("--shard joins the pairs directory the other shards fill; --force would clear theirs, "
                           "so clear it first or make it again without --shard")
    check_out(out, args.resume or args.shard[1] > 1, args.force)  # before any model is loaded
    options = decode_options(args)
    model = textvae.load(args.model, device=args.device)
    model.check_transfer()
    settings = settings_from_args(args, model, options)
    data = model.config.data
    corpus = load_corpus(args.data or data.path, text_column=data.text_column, label_column=data.label_column,
                         label_names=data.label_names, max_tokens=data.max_tokens)
    texts, labels = corpus.texts("train"), corpus.labels("train")
    indices = balanced_sample(labels, args.sentences, args.draw_seed) if args.sentences else None
    log.info("distilling %d training sentences with %s", len(indices or texts),
             ", ".join(f"{k} {shown_setting(v)}" for k, v in settings.items()))
    done = distill_pairs(model, texts, labels, out, {**settings, **options}, corpus.fingerprint, args.chunk,
                         resume=args.resume, force=args.force, indices=indices, shard=args.shard)
    hint = f"; train on them with model.distill.pairs={out} train.init_from={args.model}" if done else ""
    print(pairs_summary(out) + hint)
    return 0


def _transfer_by_manipulation(args, model, options: dict, output) -> int:
    """``transfer --method traverse``: move each code towards the target style's reference codes."""
    if not model.model.latent_dim:
        raise TextvaeError(f"model {args.model} has no latent code to move (e.g. a language model)")
    traverse = {"steps": args.steps, "step_size": args.step_size, "stay": args.stay, "reference": args.reference_data}
    if args.interactive:
        from textvae.transfer.interactive import run_interactive

        return run_interactive(model, options, stdin=sys.stdin, stdout=sys.stdout, traverse=traverse)
    if not args.to:
        raise TextvaeError("textvae transfer --method traverse: --to STYLE is required")
    lines = read_sentences(args.input)
    results = map_nonblank(lambda x: model.manipulate(x, args.to, **traverse, **options),
                           lines, "transfer")
    write_sentences(nbest_lines(results), output)
    return 0


def cmd_evaluate_vae(args) -> int:
    import textvae
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.vae import format_vae_table, vae_diagnostics
    from textvae.io import atomic_write_text
    from textvae.modeldir import resolve_model_dir

    default = resolve_model_dir(args.model) / f"eval_vae_{args.split}.json"
    output = output_file(args.output or default, args.force)
    model = textvae.load(args.model, device=args.device)
    data = model.config.data
    corpus = load_corpus(args.data or data.path, text_column=data.text_column, label_column=data.label_column,
                         max_tokens=data.max_tokens, splits=(args.split,))
    texts = corpus.texts(args.split)
    if args.max_sentences:
        texts = texts[:args.max_sentences]
    result = vae_diagnostics(model.model, model.tokenizer, texts, model.device, iw_samples=args.samples,
                             batch_sentences=args.batch_sentences, seed=args.seed)
    result.update(model=str(model.path), data=corpus.source, split=args.split)
    atomic_write_text(output, json.dumps(result, indent=2) + "\n")
    from textvae.modeldir import record_evaluation

    record_evaluation(model.path, "vae", args.split, {k: result[k] for k in VAE_CARD_KEYS if k in result},
                      sentences=result.get("sentences"), corpus=corpus.source)
    print(json.dumps(result, indent=2) if args.format == "json" else format_vae_table(result))
    if args.format != "json":
        print(f"\nsaved to {output}")
    return 0


def cmd_evaluate_disentanglement(args) -> int:
    import numpy as np

    import textvae
    from textvae.data.factors import read_factors
    from textvae.evaluation.disentanglement import all_metrics
    from textvae.io import atomic_write_text
    from textvae.modeldir import record_evaluation, resolve_model_dir

    default = resolve_model_dir(args.model) / f"eval_disentanglement_{args.split}.json"
    output = output_file(args.output or default, args.force)
    names = [n for n in (args.factors or "").split(",") if n]
    model = textvae.load(args.model, device=args.device)
    if not model.model.latent_dim:
        raise TextvaeError(f"model {args.model} has no latent code to measure (e.g. a language model)")
    texts, values, names = read_factors(args.data or model.config.data.path, args.split, names)
    if args.max_sentences:
        texts, values = texts[:args.max_sentences], values[:args.max_sentences]
    codes = model.encode(texts).float().cpu().numpy()
    result = all_metrics(codes, np.array(values), names, seed=args.seed)
    result.update(model=str(model.path), split=args.split, sentences=len(texts), factors=names, seed=args.seed)
    atomic_write_text(output, json.dumps(result, indent=2) + "\n")
    record_evaluation(model.path, "disentanglement", args.split,
                      {k: result[k] for k in ("mig", "sap", "dci_disentanglement", "dci_completeness",
                                              "dci_informativeness", "factor_vae_score")}, sentences=len(texts))
    shown = ("mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness", "beta_vae_score",
             "factor_vae_score", "modularity", "explicitness")
    print("| " + " | ".join(shown) + " |\n|" + "---:|" * len(shown))
    print("| " + " | ".join(f"{result[k]:.3f}" for k in shown) + " |")
    print("\nMIG per factor: " + ", ".join(f"{n} {v:.3f}" for n, v in result["per_factor"]["mig"].items()))
    print(f"saved to {output}")
    return 0


def cmd_evaluate_syntax(args) -> int:
    import re

    import textvae
    from textvae.data.corpus import load_corpus
    from textvae.data.tags import check_tag_spec, load_tagger
    from textvae.evaluation.syntax import syntactic_saliency
    from textvae.io import atomic_write_text
    from textvae.modeldir import record_evaluation, resolve_model_dir

    default = resolve_model_dir(args.model) / f"eval_syntax_{args.split}.json"
    output = output_file(args.output or default, args.force)
    problem = check_tag_spec(args.pos_tags) if args.pos_tags else None
    if problem:
        raise TextvaeError(f"--pos-tags: {problem}")
    model = textvae.load(args.model, device=args.device)
    if not model.model.latent_dim:
        raise TextvaeError(f"model {args.model} has no latent code to measure (e.g. a language model)")
    data = args.data or model.config.data.path
    spec = args.pos_tags or model.model.pos_tags
    if spec is None:
        if not (re.fullmatch(r"factors(:\d+)?", str(data)) or (Path(data) / "factors.json").is_file()):
            raise TextvaeError(f"{data} is not the factor corpus; give --pos-tags spacy:PATH (a local spaCy "
                               "pipeline) or a word<TAB>TAG lexicon FILE from your tagger, to read the "
                               "sentences' templates")
        spec = "factors"
    tagger = load_tagger(spec)
    texts = load_corpus(data, splits=(args.split,)).texts(args.split)[:args.max_sentences]
    templates = tagger.tag([text.split() for text in texts])
    codes = model.encode(texts).float().cpu().numpy()
    result = syntactic_saliency(codes, templates, seed=args.seed)
    result.update(model=str(model.path), split=args.split, pos_tags=spec, seed=args.seed)
    atomic_write_text(output, json.dumps(result, indent=2) + "\n")
    shown = ("kmeans_purity", "kmeans_ari", "ward_purity", "ward_ari", "neighbour_agreement")
    record_evaluation(model.path, "syntax", args.split, {k: result[k] for k in shown}, sentences=len(texts))
    print(f"{result['templates']} templates over {result['sentences']} sentences (chance: purity "
          f"{result['chance_purity']:.3f}, neighbour agreement {result['chance_neighbour_agreement']:.3f})")
    print("| " + " | ".join(shown) + " |\n|" + "---:|" * len(shown))
    print("| " + " | ".join(f"{result[k]:.3f}" for k in shown) + " |")
    print(f"saved to {output}")
    return 0


def cmd_evaluate_semisupervised(args) -> int:
    import random

    import numpy as np

    import textvae
    from textvae.io import atomic_write_text
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.semisupervised import few_label_accuracy, own_classifier_accuracy

    sizes = args.labels
    plot = output_file(args.plot, args.force) if args.plot else None
    output = output_file(args.output, args.force) if args.output else None
    models = [textvae.load(path, device=args.device) for path in args.model]
    for model in models:
        if not model.model.latent_dim:
            raise TextvaeError(f"model {model.path} has no latent code to classify from (e.g. a language model)")
    parts = [model.model.code_part_mask(args.part).numpy() for model in models]
    corpus = load_corpus(args.data or models[0].config.data.path, splits=("train", "test"))
    texts, labels = corpus.texts("train"), corpus.labels("train")
    if max(sizes) > len(texts):
        raise TextvaeError(f"--labels {max(sizes)}: the training split has {len(texts)} sentences")
    # m1m2 also learns from unlabelled training sentences: a seeded draw whose labels are never read
    pool = (sorted(random.Random(args.seed).sample(range(len(texts)), min(args.unlabelled, len(texts))))
            if args.classifier == "m1m2" else [])
    results = {}
    for model, path, part in zip(models, args.model, parts):
        cache: dict = {}

        def codes(rows, model=model, cache=cache, part=part):
            missing = [i for i in rows if i not in cache]
            if missing:
                for i, code in zip(missing, model.encode([texts[i] for i in missing]).float().cpu().numpy()):
                    cache[i] = code[part]
            return np.stack([cache[i] for i in rows])

        test = model.encode(corpus.texts("test")).float().cpu().numpy()[:, part]
        unlabelled = codes(pool) if pool else None
        results[path] = few_label_accuracy(codes, labels, test, corpus.labels("test"), sizes, args.draws,
                                           args.classifier, args.seed, unlabelled)
        if model.model.has_classifier:  # its own q(y|x), trained with the labels it kept
            results[path]["own"] = own_classifier_accuracy(model, corpus.texts("test"), corpus.labels("test"))
    header = "| model | " + " | ".join(f"{n} labels" for n in sizes) + " | own classifier |"
    print(header + "\n|---|" + "---:|" * (len(sizes) + 1))
    for path, by_size in results.items():
        own = by_size.get("own")
        print(f"| {path} | " + " | ".join(f"{by_size[n]['mean']:.1f} ± {by_size[n]['std']:.1f}" for n in sizes)
              + (f" | {own['accuracy']:.1f} ({own['labels']} labels) |" if own else " | - |"))
    record = {"data": corpus.source, "classifier": args.classifier, "part": args.part, "draws": args.draws, "seed": args.seed,
              **({"unlabelled": len(pool)} if pool else {}),
              "labels": sizes, "results": {p: {str(n): v for n, v in r.items()} for p, r in results.items()}}
    if output is not None:
        atomic_write_text(output, json.dumps(record, indent=2) + "\n")
    if plot is not None:
        from textvae.reports.plots import few_label_plot

        few_label_plot(results, sizes, plot)
        print(f"plot: {plot}")
    from textvae.modeldir import record_evaluation

    for model, path in zip(models, args.model):
        record_evaluation(model.path, "semisupervised", "test",
                          {**{f"acc_{n}": results[path][n]["mean"] for n in sizes},
                           **({"own_classifier_acc": results[path]["own"]["accuracy"]} if "own" in results[path] else {})},
                          classifier=args.classifier, part=args.part,
                          draws=args.draws)
    return 0


def cmd_evaluate_transfer(args) -> int:
    import re

    from textvae.data.corpus import load_corpus
    from textvae.evaluation.fluency import FluencySettings
    from textvae.evaluation.transfer import TransferEvaluator, format_scores, load_directions
    from textvae.io import atomic_write_text

    stem = re.sub(r"\.{2,}", ".", re.sub(r"\{[^}]*\}", "", args.outputs)).rstrip(".")
    output = output_file(args.output or f"{stem}.scores.json", args.force)
    corpus = load_corpus(args.data)
    directions = load_directions(corpus, args.split, args.outputs, args.references or [], args.direction)
    from textvae.training import train  # trains the corpus fluency LM the first time

    evaluator = TransferEvaluator(corpus, judge=args.judge, fluency_lm=args.fluency_lm,
                                  fluency_settings=FluencySettings(steps=args.fluency_steps),
                                  similarity_model=args.similarity_model, normalization=args.normalize,
                                  legacy_bleu=args.legacy_bleu, device=args.device or "cpu",
                                  progress=lambda message: log.info(message), train_lm=train)
    result = evaluator.evaluate(directions)
    result.update(data=corpus.source, split=args.split, outputs=args.outputs, references=args.references or [])
    atomic_write_text(output, format_scores(result, "json"))
    print(format_scores(result, args.format), end="")
    if args.format == "md":
        print(f"\nsaved to {output}")
    return 0


def cmd_report_latent(args) -> int:
    import random
    import tempfile

    import textvae
    from textvae.data.corpus import load_corpus
    from textvae.reports.page import Section, write_report
    from textvae.reports.plots import model_latent_plot

    out = report_target(args, "latent")
    model = textvae.load(args.model, device=args.device)
    if not model.model.latent_dim:
        raise TextvaeError(f"model {args.model} has no latent code to plot (e.g. a language model)")
    corpus = load_corpus(args.data or model.config.data.path, splits=(args.split,))
    texts, labels = corpus.texts(args.split), corpus.labels(args.split)
    if len(texts) > args.max_sentences:
        keep = sorted(random.Random(0).sample(range(len(texts)), args.max_sentences))
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    with tempfile.TemporaryDirectory() as tmp:
        image = model_latent_plot(model, texts, labels, Path(tmp) / "latent.png", args.method)
        counts = {name: labels.count(i) for i, name in enumerate(model.label_names)}
        section = Section(f"Posterior means of {len(texts)} {args.split} sentences ({args.method.upper()})",
                          ["style", "sentences"], [[k, v] for k, v in counts.items()], images=[image])
        write_report(out, "textvae latent-space report", f"model {model.path}; corpus {corpus.source}",
                     [section], {"split": args.split, "sentences": len(texts), "method": args.method,
                                 "counts": counts})
    print(f"wrote {out / 'report.html'} (and latent.png, report.md, report.json)")
    return 0


def read_tsv(path: str, columns: int, what: str, option: str) -> List[List[str]]:
    """Rows of exactly ``columns`` non-empty tab-separated sentences (blank lines skipped)."""
    rows = []
    for number, line in enumerate(read_sentences(path, option), 1):
        if not line:
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) != columns:
            raise TextvaeError(f"{path} line {number}: expected {columns} tab-separated sentences ({what}), "
                               f"found {len(cells)}")
        if not all(cells):
            raise TextvaeError(f"{path} line {number}: an empty sentence; every {what} needs {columns} sentences")
        rows.append(cells)
    if not rows:
        raise TextvaeError(f"{path} has no {what}")
    return rows


def report_target(args, kind: str) -> Path:
    from textvae.modeldir import resolve_model_dir

    out = Path(args.out) if args.out else resolve_model_dir(args.model) / "reports" / kind
    if out.exists() and not args.force:
        raise TextvaeError(f"report directory {out} exists; pass --force to replace it")
    return out


def cmd_report(args) -> int:
    import tempfile

    options = decode_options(args)
    out = report_target(args, args.verb)
    with tempfile.TemporaryDirectory() as tmp:  # plots live here until the report embeds them
        return _report(args, options, out, Path(tmp))


def _report(args, options: dict, out: Path, tmp: Path) -> int:
    import textvae
    from textvae.reports import latent_ops
    from textvae.reports.page import Section, write_report
    from textvae.reports.plots import interpolation_plot

    inputs = _report_inputs(args)  # read and checked before the model is loaded
    model = textvae.load(args.model, device=args.device)
    latent_ops.require_latent(model)
    meta = f"model {model.path}; decoding {options.get('strategy', 'greedy')}"
    if args.verb == "interpolate":
        pairs = inputs
        data = latent_ops.interpolate(model, pairs, args.steps, args.method, args.part, **options)
        sections = [Section("Summary", ["pairs", "steps", "method", "part", "mean distinct", "mean neighbour BLEU"],
                            [[len(data), args.steps, args.method, args.part,
                              sum(d["distinct"] for d in data) / len(data),
                              sum(d["neighbour_bleu"] for d in data) / len(data)]])]
        sections[0].images.append(interpolation_plot(data, tmp / "crossover.png"))
        for i, item in enumerate(data, 1):
            sections.append(Section(f"Pair {i}", ["t", "sentence"],
                                    [[k / args.steps, sentence] for k, sentence in enumerate(item["sentences"])],
                                    text=f"{item['distinct']} distinct sentences, neighbour BLEU "
                                         f"{item['neighbour_bleu']:.1f}"))
    elif args.verb == "arithmetic":
        data = latent_ops.arithmetic(model, inputs, **options)
        sections = [Section("z(s1) - z(s2) + z(s3)", ["s1", "s2", "s3", "decoded"],
                            [[d["s1"], d["s2"], d["s3"], d["result"]] for d in data])]
    elif args.verb == "traverse" and args.between:
        data = _trajectory_report(args, model, inputs, options, tmp)
        sections = data.pop("sections")
    elif args.verb == "traverse":
        sentences = inputs
        dims = [int(d) for d in args.dims.split(",")] if args.dims else list(range(min(8, model.model.latent_dim)))
        data = latent_ops.traverse(model, sentences, dims, args.radius, args.points, **options)
        sections = [Section(f"{d['sentence']} (dimension {d['dim']})", ["value", "sentence"],
                            [[v, s] for v, s in zip(d["values"], d["sentences"])],
                            text=f"{d['distinct']} distinct sentences") for d in data]
        if args.factors:  # which factor each dimension moves, read off the factor corpus' grammar
            from textvae.data.factors import read_off_factors
            from textvae.reports.plots import factor_heatmap

            view = latent_ops.factor_view(data, read_off_factors)
            data = {"traversals": data, "factor_view": view}
            sections.insert(0, Section("Factor view: how much each factor varies along each dimension's traversal",
                                       ["dimension"] + view["factors"],
                                       [[f"z{d}"] + row for d, row in zip(view["dims"], view["changed"])],
                                       images=[factor_heatmap(view, tmp / "factors.png")]))
    elif args.interpolate:
        data = latent_ops.prior_interpolate(model, args.n, args.interpolate, style=args.style, **options)
        sections = [Section(f"Path {i} between two draws of the prior's noise", ["t", "sentence"],
                            [[k / args.interpolate, text] for k, text in enumerate(d["sentences"])],
                            text=f"{d['distinct']} distinct sentences, neighbour BLEU {d['neighbour_bleu']:.1f}")
                    for i, d in enumerate(data, 1)]
    else:
        data = latent_ops.prior_samples(model, args.n, style=args.style, **options)
        prior = "the generator's prior" if model.config.model.type == "arae" else "the prior N(0, I)"
        sections = [Section(f"{len(data)} samples from {prior}", ["#", "sentence"],
                            [[i, s] for i, s in enumerate(data, 1)])]
    write_report(out, f"textvae {args.verb} report", meta, sections, data)
    print(f"wrote {out / 'report.html'} (and report.md, report.json)")
    return 0


def _trajectory_report(args, model, sentences, options: dict, tmp: Path) -> dict:
    """``report traverse --between SRC TGT``: latent-manipulation paths, judged along the way."""
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.judge import cached_judge
    from textvae.reports import latent_ops
    from textvae.reports.page import Section
    from textvae.reports.plots import trajectory_plot

    source, target = args.between
    latent_ops.check_style(model, source, target)  # before the judge is trained
    judge, _ = cached_judge(load_corpus(model.config.data.path))
    data = latent_ops.manipulation_trajectories(model, sentences, source, target, judge, args.steps, args.every,
                                                step_size=args.step_size, stay=args.stay, **options)
    flipped = [d["flipped_at"] for d in data if d["flipped_at"] is not None]
    summary = Section("Summary", ["sentences", "steps", "judged target at the end", "mean distance of the flip",
                                  "mean BLEU to the source at the end"],
                      [[len(data), args.steps,
                        f"{sum(d['points'][-1]['target_probability'] > 0.5 for d in data)} / {len(data)}",
                        f"{sum(flipped) / len(flipped):.2f}" if flipped else "-",
                        sum(d["points"][-1]["bleu"] for d in data) / len(data)]],
                      images=[trajectory_plot(data, target, tmp / "trajectory.png")])
    sections = [summary] + [Section(d["source"], ["step", "distance", f"P({target})", "BLEU", "sentence"],
                                    [[p["step"], p["distance"], p["target_probability"], p["bleu"], p["sentence"]]
                                     for p in d["points"]]) for d in data]
    return {"trajectories": data, "sections": sections}


def _report_inputs(args):
    """The sentences a report verb reads: pairs, triples, or one sentence a line (None for samples)."""
    if args.verb == "interpolate":
        return read_tsv(args.pairs, 2, "pair", "--pairs")
    if args.verb == "arithmetic":
        return read_tsv(args.triples, 3, "triple", "--triples")
    if args.verb == "traverse":
        sentences = [s for s in read_sentences(args.sentences, "--sentences") if s]
        if not sentences:
            raise TextvaeError(f"{args.sentences} has no sentences")
        return sentences
    return None


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="textvae", description="Sentence VAEs and text style transfer.")
    parser.add_argument("--version", action="version", version=f"textvae {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    data = sub.add_parser("data", help="fetch corpora, show their statistics, make the synthetic corpus")
    data_sub = data.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    stats = data_sub.add_parser("stats", help="sizes, label balance and length percentiles of a corpus")
    stats.add_argument("source", help="corpus directory, CSV/TSV/JSONL file, 'synthetic' or a hub name")
    stats.add_argument("--text-column", default="text")
    stats.add_argument("--label-column", default="label")
    stats.add_argument("--max-tokens", type=count, default=None, help="skip (and count) longer lines")
    stats.add_argument("--format", choices=["md", "json"], default="md")
    stats.set_defaults(func=cmd_data_stats)
    fetch = data_sub.add_parser("fetch", help="download a public corpus (yelp, amazon) and verify it")
    fetch.add_argument("name")
    fetch.add_argument("--dest", required=True, help="directory to create")
    fetch.add_argument("--from", dest="from_dir", help="copy from a local directory instead of downloading")
    fetch.add_argument("--force", action="store_true", help="overwrite an existing destination")
    fetch.set_defaults(func=cmd_data_fetch)
    synth = data_sub.add_parser("synthetic", help="write the synthetic corpus (with ground-truth transfers)")
    synth.add_argument("--dest", required=True)
    synth.add_argument("--train", type=count, default=20000)
    synth.add_argument("--dev", type=count, default=1000)
    synth.add_argument("--test", type=count, default=1000)
    synth.add_argument("--seed", type=seed_int, default=0)
    synth.add_argument("--force", action="store_true")
    synth.add_argument("--factors", action="store_true",
                       help="the corpus with seven known generative factors (sentiment, tense, number, topic, "
                            "negation, kind, intensity) and part-of-speech tags, for disentanglement metrics")
    synth.set_defaults(func=cmd_data_synthetic)
    smt = data_sub.add_parser("synthetic-mt", help="train tiny English<->pivot translation models on the synthetic "
                                                   "corpus (for the back-translation pipeline's tests and demo)")
    smt.add_argument("dest", help="directory to write en-pivot/ and pivot-en/ into")
    smt.add_argument("--sentences", type=count, default=2000)
    smt.add_argument("--steps", type=count, default=600)
    smt.add_argument("--seed", type=seed_int, default=0)
    smt.add_argument("--force", action="store_true")
    smt.set_defaults(func=cmd_data_synthetic_mt)

    train = sub.add_parser("train", help="train a recipe", description=(
        "Train a recipe. Override any key with key.sub=value, e.g. train.max_steps=1000 "
        "train.max_minutes=30. Under torchrun the same command trains with DistributedDataParallel."))
    train.add_argument("recipe", help="YAML recipe (see recipes/)")
    train.add_argument("overrides", nargs="*", metavar="key=value")
    train.add_argument("--data-dir", help="corpus to train on (sets data.path)")
    train.add_argument("--out", help="run directory (default: runs/<recipe name>)")
    train.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")
    train.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    train.set_defaults(func=cmd_train)

    def add_model_io(p, reranked: bool = False):
        p.add_argument("--model", required=True, help="model directory or run directory")
        p.add_argument("--input", default="-", help="sentences, one a line (default: stdin)")
        p.add_argument("--output", help="output file (default: stdout)")
        p.add_argument("--force", action="store_true", help="overwrite an existing output file")
        p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
        add_quiet(p)
        add_decode_options(p, reranked)

    transfer = sub.add_parser("transfer", help="rewrite sentences in another style")
    add_model_io(transfer, reranked=True)
    transfer.add_argument("--to", help="target style name")
    transfer.add_argument("--interactive", action="store_true",
                          help="type sentences, see them transferred to every style (:help for commands)")
    add_transfer_settings(transfer)
    transfer.add_argument("--method", choices=["model", "traverse"], default="model",
                          help="model: the model's own transfer; traverse: move the code towards the target style's "
                               "reference codes and decode (Larsson et al. 2017; any model with a code)")
    transfer.add_argument("--steps", type=number(int, 0), default=50, help="--method traverse: gradient steps")
    transfer.add_argument("--step-size", type=number(float, 0, above=True), default=0.1,
                          help="--method traverse: step size, in units of the codes' spread")
    transfer.add_argument("--stay", type=number(float, 0), default=0.01, help="--method traverse: stay-close weight")
    transfer.add_argument("--reference-data", help="--method traverse: corpus of the reference sentences "
                                                   "(default: the one the model was trained on)")
    transfer.set_defaults(func=cmd_transfer)

    tune_p = sub.add_parser("tune", help="choose a model's transfer settings on dev and save them as its defaults",
                            description="Transfers a fixed dev sample with every setting of a grid (strength, "
                                        "greedy or beam, reranking weights), scores it with the corpus' judge, "
                                        "self-BLEU and the fluency LM, prints the table and writes the chosen "
                                        "setting into the model directory (transfer_defaults.json).")
    tune_p.add_argument("--model", required=True, help="model directory or run directory")
    tune_p.add_argument("--data", help="corpus (default: the one the model was trained on)")
    tune_p.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    tune_p.add_argument("--sentences", type=count, default=None,
                        help="sentences of the split (default: the training curve's sample, train.eval_transfer_sentences)")
    tune_p.add_argument("--min-accuracy", type=number(float, 0, 100), default=85.0,
                        help="rule: most self-BLEU among rows with at least this dev accuracy, in percent (default 85)")
    tune_p.add_argument("--max-ppl-ratio", type=number(float, 0, above=True), default=1.5,
                        help="rule: and outputs' perplexity at most this many times the sources' (default 1.5)")
    tune_p.add_argument("--no-fluency", action="store_true", help="skip the fluency LM (and the PPL bound)")
    tune_p.add_argument("--strength", dest="strengths", type=number_list(float, 0, above=True),
                        help="strengths to try (default: 1, or 1,1.3,1.6,2 for split-latent models)")
    tune_p.add_argument("--beam", dest="beams", type=number_list(int, 0),
                        help="beam sizes, 0 = greedy (default 0,5,10)")
    tune_p.add_argument("--rerank", type=number_list(float, 0),
                        help="style-classifier reranking weights (default 0,1,4 where the model has one)")
    tune_p.add_argument("--cycle", type=number_list(float, 0),
                        help="cycle reranking weights (default 0,1,4 where the model has one)")
    tune_p.add_argument("--lm-weight", type=number_list(float, 0),
                        help="language-model reranking weights (default 0,2,5 with --lm)")
    tune_p.add_argument("--samples", type=number_list(int, 0),
                        help="sampled candidates added to each beam's, counts to try (default 0; one decode "
                             "draws the most, and smaller counts rerank its first ones)")
    tune_p.add_argument("--pool", action="store_true",
                        help="also rerank the union of every strength's beam candidates (one more row per "
                             "reranking setting and beam size, no extra decoding; the choice stores them as "
                             "--strength FIRST --pool-strengths REST)")
    tune_p.add_argument("--top-p", type=number(float, 0, 1, above=True), default=1.0,
                        help="nucleus threshold the sampled candidates are drawn with (default 1: plain sampling)")
    tune_p.add_argument("--lm", metavar="DIR", help="a textvae language model for LM reranking")
    add_scorer_argument(tune_p)
    tune_p.add_argument("--json", help="also write the rows to this JSON file (rewritten after every row)")
    tune_p.add_argument("--no-write", action="store_true", help="print the table only; keep the model's defaults")
    tune_p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    add_quiet(tune_p)
    tune_p.add_argument("--device", default=None)
    tune_p.set_defaults(func=cmd_tune)

    serve = sub.add_parser("serve", help="a local web page for interactive style transfer")
    serve.add_argument("--model", required=True, help="model directory or run directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    serve.add_argument("--port", type=number(int, 0, 65535), default=7860, help="port (0: any free one; default 7860)")
    serve.add_argument("--lm", metavar="DIR", help="a textvae language model for language-model reranking")
    add_scorer_argument(serve)
    serve.add_argument("--device", default=None)
    serve.set_defaults(func=cmd_serve)

    distill = sub.add_parser("distill", help="reranked transfers of the training split, as pairs to train on")
    distill.add_argument("--model", required=True, help="model directory or run directory")
    distill.add_argument("--out", required=True, help="pairs directory to write")
    distill.add_argument("--data", help="corpus (default: the one the model was trained on)")
    distill.add_argument("--sentences", type=count,
                         help="only N training sentences, drawn evenly from the styles (seeded by --draw-seed)")
    distill.add_argument("--draw-seed", type=seed_int, default=0, help="which sentences --sentences draws (default 0)")
    distill.add_argument("--chunk", type=count, default=2000, help="sentences per resumable chunk")
    distill.add_argument("--resume", action="store_true", help="finish a pairs directory that was stopped")
    distill.add_argument("--force", action="store_true", help="make an existing pairs directory again")
    distill.add_argument("--shard", type=shard_spec, default=(0, 1), metavar="K/N",
                         help="make only every N-th chunk from the K-th (0-based), so that N processes or machines "
                              "fill one pairs directory side by side (same command otherwise; each joins the "
                              "directory as with --resume, and the last to finish writes pairs.jsonl)")
    add_transfer_settings(distill)
    distill.add_argument("--device", default=None)
    add_quiet(distill)
    add_decode_options(distill, reranked=True)
    distill.set_defaults(func=cmd_distill)

    recon = sub.add_parser("reconstruct", help="encode and decode sentences (autoencoder check)")
    add_model_io(recon)
    recon.set_defaults(func=cmd_reconstruct)

    verbs = {}  # command -> its verb subparsers
    for command, help_text in (("evaluate", "score models and system outputs"),
                               ("report", "interpolation, arithmetic, traversal, samples, latent plots")):
        verbs[command] = sub.add_parser(command, help=help_text).add_subparsers(
            dest="verb", metavar="VERB", parser_class=Parser)
    vae = verbs["evaluate"].add_parser("vae", help="VAE diagnostics: IW-NLL, PPL, KL, MI, active units, BLEU")
    vae.add_argument("--model", required=True, help="model directory or run directory")
    vae.add_argument("--data", help="corpus (default: the one the model was trained on)")
    vae.add_argument("--split", default="test", choices=["train", "dev", "test"])
    vae.add_argument("--samples", type=count, default=100, help="importance samples for the NLL (k)")
    vae.add_argument("--max-sentences", type=count, help="evaluate only the first N sentences")
    vae.add_argument("--batch-sentences", type=count, default=64)
    vae.add_argument("--seed", type=seed_int, default=0)
    vae.add_argument("--format", choices=["md", "json"], default="md")
    vae.add_argument("--output", help="JSON file (default: eval_vae_SPLIT.json in the model directory)")
    vae.add_argument("--force", action="store_true", help="overwrite an existing output file")
    vae.add_argument("--device", default=None)
    add_quiet(vae)
    vae.set_defaults(func=cmd_evaluate_vae)
    tr = verbs["evaluate"].add_parser(
        "transfer", help="score style-transfer outputs: judge accuracy, BLEU, similarity, fluency",
        description="Score any system's transfers of a corpus split. Outputs for direction A->B are read "
                    "from OUTPUTS.A (one line per source of style A, in corpus order), or from OUTPUTS "
                    "itself with {source}, {target}, {source_name}, {target_name} placeholders.")
    tr.add_argument("--data", required=True, help="the corpus (release directory or file)")
    tr.add_argument("--outputs", required=True, help="prefix (or pattern) of the output files")
    tr.add_argument("--references", action="append", metavar="PREFIX",
                    help="prefix of reference files, same naming as --outputs; repeat for several references")
    tr.add_argument("--direction", help="e.g. 0->1,1->0 or negative->positive (default: both ways)")
    tr.add_argument("--split", default="test", choices=["train", "dev", "test"])
    tr.add_argument("--format", choices=["md", "json", "csv"], default="md")
    tr.add_argument("--output", help="JSON file with the scores (default: OUTPUTS.scores.json)")
    tr.add_argument("--force", action="store_true", help="overwrite an existing output file")
    tr.add_argument("--judge", help="local transformers classifier to use as judge (default: fastText)")
    tr.add_argument("--fluency-lm", help="local transformers causal LM (default: textvae's corpus LM)")
    tr.add_argument("--fluency-steps", type=count, default=2000,
                    help="training steps of textvae's corpus LM the first time it is needed (default 2000)")
    tr.add_argument("--similarity-model", help="local transformers sentence encoder (default: word vectors)")
    tr.add_argument("--normalize", default="auto", choices=["auto", "yelp", "amazon", "none"],
                    help="tokenisation to put outputs in (default: the corpus' own)")
    tr.add_argument("--legacy-bleu", action="store_true", help="also report sentence-averaged BLEU")
    tr.add_argument("--device", default=None)
    add_quiet(tr)
    tr.set_defaults(func=cmd_evaluate_transfer)
    dis = verbs["evaluate"].add_parser("disentanglement", help="MIG, SAP, DCI, beta-VAE and FactorVAE scores, "
                                       "modularity and explicitness of the codes against a factor corpus")
    dis.add_argument("--model", required=True, help="model directory or run directory")
    dis.add_argument("--data", help="a factor corpus (default: the one the model was trained on)")
    dis.add_argument("--split", default="test", choices=["train", "dev", "test"])
    dis.add_argument("--factors", help="comma-separated factor names (default: all)")
    dis.add_argument("--max-sentences", type=number(int, 2))
    dis.add_argument("--seed", type=seed_int, default=0)
    dis.add_argument("--output", help="JSON file (default: eval_disentanglement_SPLIT.json in the model directory)")
    dis.add_argument("--force", action="store_true")
    dis.add_argument("--device", default=None)
    dis.set_defaults(func=cmd_evaluate_disentanglement)

    syn = verbs["evaluate"].add_parser("syntax", help="syntactic saliency: do the codes cluster by the sentences' "
                                       "part-of-speech templates (Brunner et al. 2018)")
    syn.add_argument("--model", required=True, help="model directory or run directory")
    syn.add_argument("--data", help="corpus (default: the one the model was trained on)")
    syn.add_argument("--split", default="test", choices=["train", "dev", "test"])
    syn.add_argument("--pos-tags", help="'factors', spacy:PATH (a local spaCy pipeline, tags in context) or a "
                                        "word<TAB>TAG lexicon (default: the model's, or the factor corpus' grammar "
                                        "on the factor corpus)")
    syn.add_argument("--max-sentences", type=number(int, 20), default=5000)
    syn.add_argument("--seed", type=seed_int, default=0)
    syn.add_argument("--output", help="JSON file (default: eval_syntax_SPLIT.json in the model directory)")
    syn.add_argument("--force", action="store_true")
    syn.add_argument("--device", default=None)
    syn.set_defaults(func=cmd_evaluate_syntax)

    semi = verbs["evaluate"].add_parser("semisupervised", help="test accuracy of a classifier on the codes of N "
                                        "labelled training sentences (the BN-VAE paper's few-label protocol)")
    semi.add_argument("--model", required=True, action="append", help="model directory (repeat to compare)")
    semi.add_argument("--data", help="corpus (default: the first model's)")
    semi.add_argument("--labels", type=number_list(int, 1), default=[100, 500, 1000, 2000, 10000])
    semi.add_argument("--draws", type=count, default=5, help="balanced draws of the labelled sentences per N")
    semi.add_argument("--classifier", choices=["logreg", "mlp", "m1m2"], default="logreg",
                      help="m1m2: Kingma et al.'s M2 fitted on the codes, also from --unlabelled sentences")
    semi.add_argument("--unlabelled", type=count, default=20000,
                      help="--classifier m1m2: codes of this many training sentences whose labels it never sees")
    semi.add_argument("--part", choices=["all", "style", "content"], default="all",
                      help="for split models: classify from the style or the content code only")
    semi.add_argument("--seed", type=seed_int, default=0)
    semi.add_argument("--output", help="JSON file with every draw's statistics")
    semi.add_argument("--plot", help="PNG: accuracy against labels, one line per model")
    semi.add_argument("--force", action="store_true")
    semi.add_argument("--device", default=None)
    semi.set_defaults(func=cmd_evaluate_semisupervised)

    latent = verbs["report"].add_parser("latent", help="2-D t-SNE/PCA plot of the latent codes, coloured by label")
    latent.add_argument("--model", required=True, help="model directory or run directory")
    latent.add_argument("--data", help="corpus (default: the one the model was trained on)")
    latent.add_argument("--split", default="test", choices=["train", "dev", "test"])
    latent.add_argument("--max-sentences", type=number(int, 2), default=2000)
    latent.add_argument("--method", choices=["tsne", "pca"], default="tsne")
    latent.add_argument("--out", help="report directory (default: MODEL/reports/latent)")
    latent.add_argument("--force", action="store_true", help="replace an existing report directory")
    latent.add_argument("--device", default=None)
    latent.set_defaults(func=cmd_report_latent)
    def add_report(verb, help_text):
        p = verbs["report"].add_parser(verb, help=help_text)
        p.add_argument("--model", required=True, help="model directory or run directory")
        p.add_argument("--out", help="report directory (default: MODEL/reports/VERB)")
        p.add_argument("--force", action="store_true", help="replace an existing report directory")
        p.add_argument("--device", default=None)
        add_quiet(p)
        add_decode_options(p)
        p.set_defaults(func=cmd_report)
        return p

    p = add_report("interpolate", "decode evenly spaced points between the codes of sentence pairs")
    p.add_argument("--pairs", required=True, help="TSV file: two sentences a line")
    p.add_argument("--steps", type=count, default=10)
    p.add_argument("--method", choices=["linear", "slerp"], default="linear")
    p.add_argument("--part", choices=["all", "style", "content"], default="all",
                   help="for split models: interpolate only the style or only the content code")
    p = add_report("arithmetic", "decode z(s1) - z(s2) + z(s3) for sentence triples")
    p.add_argument("--triples", required=True, help="TSV file: three sentences a line")
    p = add_report("traverse", "vary one latent dimension at a time around sentences' codes")
    p.add_argument("--sentences", required=True, help="file with one sentence a line")
    p.add_argument("--dims", help="comma-separated dimensions (default: the first 8)")
    p.add_argument("--radius", type=number(float, 0, above=True), default=3.0, help="values go from -radius to radius")
    p.add_argument("--points", type=number(int, 2), default=7)
    p.add_argument("--factors", action="store_true",
                   help="add the factor view (sentences of the factor corpus: textvae data synthetic --factors)")
    p.add_argument("--between", nargs=2, metavar=("SOURCE", "TARGET"),
                   help="instead: the latent-manipulation trajectory of each sentence (of style SOURCE) towards "
                        "TARGET, with the corpus judge's P(TARGET) and BLEU to the source along the path")
    p.add_argument("--steps", type=number(int, 1), default=50, help="--between: gradient steps")
    p.add_argument("--every", type=count, default=5, help="--between: decode every this many steps")
    p.add_argument("--step-size", type=number(float, 0, above=True), default=0.1, help="--between: step size")
    p.add_argument("--stay", type=number(float, 0), default=0.01, help="--between: stay-close weight")
    p = add_report("samples", "sentences decoded from the prior")
    p.add_argument("-n", type=count, default=50, help="samples (with --interpolate: paths)")
    p.add_argument("--interpolate", type=number(int, 0), default=0, metavar="STEPS",
                   help="decode STEPS + 1 points on the line between two draws of the prior's noise, for each of "
                        "-n paths (ARAE: the generator's noise space)")
    p.add_argument("--style", help="set the codes' style part to this style first (M2: its label; split-latent "
                                   "models: the style's mean style vector)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        func = getattr(args, "func", None)
        if extra:  # key=value overrides may come after options such as --out
            if func is not cmd_train or any("=" not in e or e.startswith("-") for e in extra):
                parser.error("unrecognized arguments: " + " ".join(extra))
            args.overrides = list(args.overrides) + extra
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="textvae: %(message)s")
        keep_freed_memory()
        from textvae import progress

        progress.QUIET = getattr(args, "quiet", False)
        if not hasattr(args, "func"):
            target = parser
            if args.command:
                target = parser._subparsers._group_actions[0].choices[args.command]  # noqa: SLF001
            target.print_help()
            return 0 if not args.command else 2
        return args.func(args)
    except TextvaeError as exc:
        print(f"textvae: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("textvae: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug: show it so it can be reported
        traceback.print_exc()
        print("textvae: internal error (the trace above); please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
