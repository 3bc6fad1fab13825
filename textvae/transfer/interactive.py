"""``textvae transfer --interactive``: type a sentence, see it in every style.

Each input line prints its reconstruction and its transfer to every other style, with the
judge's confidence when an evaluation judge for the model's corpus is cached. Lines that start
with ``:`` are commands (``:help``). Without a terminal (a pipe) there is no prompt, and the
transfers are exactly what batch mode prints (except sampled ones, ``:sample`` and ``:samples``,
which depend on the sentences decoded together).
"""

from __future__ import annotations

import logging
from typing import Dict, Optional, TextIO

from textvae.transfer.defaults import RERANK_KEYS

log = logging.getLogger("textvae")

HELP = """commands:
  :strength X   style strength: move the style code X of the way to the target style, or guide a
                back-translation model's decoder (1 plain, 2 stronger, 0 the other style) (now {strength})
  :rerank W     with beam search, rerank the beam by W x the model's style classifier (now {rerank})
  :cycle W      ... and by W x how well each candidate rebuilds the source (now {rerank_cycle})
  :lm W         ... and by W x each candidate's per-token log-probability under --lm (now {rerank_lm})
  :beam N       beam search with N beams        :greedy      greedy decoding
  :sample P     top-p sampling with threshold P
  :samples N    with beam search and reranking, also rerank N sampled candidates (now {samples})
  :pool X,Y     with beam search and reranking, also rerank the beams decoded at strengths X, Y
                (now {pool_strengths})
  :steps N      --method traverse: gradient steps on the code (now {steps})
  :step X       --method traverse: step size (now {step_size})
  :help         this text                       :quit        leave (or end of input)"""


# :command -> (transfer keyword, what it is called)
WEIGHTS = {"rerank": ("rerank", "rerank weight"), "cycle": ("rerank_cycle", "cycle rerank weight"),
           "lm": ("rerank_lm", "language-model rerank weight")}


def cached_judge_for(model):
    """The evaluation judge of the model's corpus if one is cached (never trains one here)."""
    try:
        from textvae.data.corpus import load_corpus
        from textvae.evaluation.cache import artefact_dir
        from textvae.evaluation.judge import FastTextJudge, JudgeSettings

        corpus = load_corpus(model.config.data.path)  # all splits: the cache key is the whole corpus'
        directory = artefact_dir("judges", corpus, JudgeSettings())
        if (directory / "judge.bin").is_file():
            return FastTextJudge.load(directory)
    except Exception as exc:  # no corpus at hand: transfer works without a judge
        log.debug("no judge: %s", exc)
    return None


def judge_confidence(judge, texts, style: str):
    """The judge's probability of ``style`` for each text."""
    column = judge.label_names.index(style)
    return [float(row[column]) for row in judge.predict_proba(list(texts))]


def _command(line: str, options: Dict, state: Dict) -> Optional[str]:
    """Apply a ``:command``; returns the message to print (``None`` to quit)."""
    name, _, value = line[1:].partition(" ")
    value = value.strip()
    try:
        if name == "quit":
            return None
        if name == "help":
            return HELP.format(**state, steps=state.get("traverse", {}).get("steps", "-"),
                               step_size=state.get("traverse", {}).get("step_size", "-"))
        if name == "strength":
            state["strength"] = float(value)
            return f"strength {state['strength']:g}"
        if name in ("steps", "step"):
            if "traverse" not in state:
                return f":{name} is for --method traverse sessions"
            key = "steps" if name == "steps" else "step_size"
            number = int(value) if name == "steps" else float(value)
            if not (number >= 0 if name == "steps" else number > 0) or number != number:
                return f"{line}: expected {'0 or more' if name == 'steps' else 'a positive number'}"
            state["traverse"][key] = number
            return f"{key.replace('_', ' ')} {number:g}"
        if name in WEIGHTS:
            key, what = WEIGHTS[name]
            state[key] = float(value)
            return f"{what} {state[key]:g}"
        if name == "beam":
            options.update(strategy="beam", beam_size=int(value or 5), n_best=1)
            return f"beam search, {options['beam_size']} beams"
        if name == "samples":
            if int(value or 0) < 0:
                return f"{line}: expected 0 or more"
            state["samples"] = int(value or 0)
            return f"{state['samples']} sampled candidates with beam search and reranking"
        if name == "pool":
            strengths = [float(v) for v in value.replace(",", " ").split()]
            if any(not 0 <= v < float("inf") for v in strengths):
                return f"{line}: expected strengths of 0 or more"
            state["pool_strengths"] = strengths
            return (f"beam candidates also decoded at strength {', '.join(f'{v:g}' for v in strengths)} for reranking"
                    if strengths else "no pooled strengths")
        if name == "greedy":
            options.update(strategy="greedy")
            return "greedy decoding"
        if name == "sample":
            options.update(strategy="sample", top_p=float(value or 0.9))
            return f"top-p sampling, p = {options['top_p']:g}"
    except ValueError:
        return f"{line}: expected a number; :help lists the commands"
    return f"unknown command {line}; :help lists the commands"


def run_interactive(model, options: Dict, strength: float = 1.0, rerank: float = 0.0, rerank_cycle: float = 0.0,
                    rerank_lm: float = 0.0, lm=None, scorer=None, stdin: TextIO = None, stdout: TextIO = None,
                    traverse: Optional[Dict] = None) -> int:
    """The session (see the module docstring). ``traverse``: the latent-manipulation settings
    (``steps``, ``step_size``, ``stay``, ``reference``) of ``--method traverse``, which then moves
    the code towards each style instead of the model's own transfer."""
    from textvae.decoding import DecodeOptions
    from textvae.errors import TextvaeError

    tty = stdin.isatty()
    judge = cached_judge_for(model)
    state = {"strength": strength, "rerank": rerank, "rerank_cycle": rerank_cycle, "rerank_lm": rerank_lm, "lm": lm,
             "scorer": scorer}
    options = dict(options)
    state["samples"] = options.pop("samples", 0)  # the session's, used while it reranks a beam
    state["pool_strengths"] = list(options.pop("pool_strengths", None) or [])  # likewise
    if traverse is not None:
        state["traverse"] = dict(traverse)
    width = max(len(name) for name in model.label_names + ["reconstruction"])
    if tty:
        stdout.write(f"textvae: {model.path} ({', '.join(model.label_names)}); :help for commands\n")
    while True:
        if tty:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            stdout.write("\n")
            continue
        if line.startswith(":"):
            message = _command(line, options, state)
            if message is None:
                break
            stdout.write(message + "\n")
            continue
        # the reranking weights and sampled candidates act on a beam; greedy and sampling decode plainly
        strategy = options.get("strategy") or model.transfer_defaults.get("strategy")
        reranking = strategy == "beam" and any(state[k] for k in RERANK_KEYS)
        weights = {k: (v if reranking or k not in RERANK_KEYS else 0.0) for k, v in state.items()
                   if k not in ("samples", "pool_strengths")}
        try:
            DecodeOptions(**options)
            rows = [("reconstruction", model.reconstruct([line], **options)[0])] if model.model.latent_dim else []
            for name in model.label_names:
                if "traverse" in state:
                    rows.append((name, model.manipulate([line], name, **state["traverse"], **options)[0]))
                else:
                    rows.append((name, model.transfer([line], to=name, **weights, **options,
                                                      samples=state["samples"] if reranking else 0,
                                                      pool_strengths=state["pool_strengths"] if reranking else [])[0]))
        except TextvaeError as exc:
            stdout.write(f"{exc}\n")
            continue
        for name, text in rows:
            text = text if isinstance(text, str) else text[0]
            confidence = ""
            if judge is not None and name != "reconstruction":
                confidence = f"  (judge: {name} {judge_confidence(judge, [text], name)[0]:.2f})"
            stdout.write(f"{name:>{width}}: {text}{confidence}\n")
        stdout.flush()
    return 0
