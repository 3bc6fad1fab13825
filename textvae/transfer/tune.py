"""``textvae tune``: search a model's transfer settings on dev and keep the best as its defaults.

Every setting of a grid (style strength, greedy or beam search, the reranking weights of the
model's style classifier, of the cycle reconstruction and of a language model) transfers the
same fixed dev sample as the training curve (:class:`textvae.evaluation.transfer_dev.DevSample`:
each sentence to another style, scored by the corpus' fastText judge, self-BLEU and, with the
fluency LM, the outputs' perplexity over the sources'). The beam candidates of one strength and
beam size are decoded and scored once and ranked anew for every weight combination, so a grid of
reranking weights costs one decode. A stated rule picks the row (:class:`TuneRule`), and the
choice is written into the model directory with the rule, the dev figures, the table and the date
(:func:`textvae.transfer.defaults.write_tuned`).
"""

from __future__ import annotations

import datetime
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from textvae.errors import TextvaeError
from textvae.transfer.batch import transfer_candidates
from textvae.transfer.rerank import ranking, reranked_scores

log = logging.getLogger("textvae")


@dataclass
class TuneGrid:
    """The settings searched: every strength x beam size (0 or 1: greedy), and for beams of 2 or
    more every count of sampled candidates added to the beam's (``samples``) and every combination
    of the three reranking weights; with ``pool`` (two strengths or more) also every reranking
    row of each beam size over the union of all the strengths' candidates (``pool_strengths``: the
    first strength's candidates, then the others'; no decode of its own)."""

    strengths: Sequence[float] = (1.0,)
    beams: Sequence[int] = (0, 5, 10)
    rerank: Sequence[float] = (0.0,)
    cycle: Sequence[float] = (0.0,)
    lm_weight: Sequence[float] = (0.0,)
    samples: Sequence[int] = (0,)
    pool: bool = False

    def reranked(self):
        """``(samples, rerank, cycle, lm_weight)`` of every reranking row of a beam: sampled candidates
        only where some weight is on (without reranking there is nothing to choose them)."""
        for drawn, *weights in itertools.product(self.samples, self.rerank, self.cycle, self.lm_weight):
            if not drawn or any(weights):
                yield (drawn, *weights)

    def size(self) -> int:
        greedy = sum(b <= 1 for b in self.beams)
        beam = len(self.beams) - greedy
        return (len(self.strengths) + self.pool) * beam * len(list(self.reranked())) \
            + len(self.strengths) * greedy

    def check(self) -> None:
        values = [*self.strengths, *self.rerank, *self.cycle, *self.lm_weight]
        if not all(isinstance(v, (int, float)) and v == v and abs(v) != float("inf") for v in values):
            raise TextvaeError("tune: every grid value must be a finite number")
        if min([*self.rerank, *self.cycle, *self.lm_weight]) < 0:
            raise TextvaeError("tune: reranking weights must be 0 (off) or positive")
        if any(b < 0 for b in self.beams):
            raise TextvaeError("tune: beam sizes must be 0 (greedy) or positive")
        if any(not isinstance(n, int) or n < 0 for n in self.samples):
            raise TextvaeError("tune: sampled-candidate counts must be 0 (off) or positive integers")
        if not (self.strengths and self.beams and self.rerank and self.cycle and self.lm_weight and self.samples):
            raise TextvaeError("tune: every grid axis needs at least one value")
        if any(self.samples) and not any([*self.rerank, *self.cycle, *self.lm_weight]):
            raise TextvaeError("tune: sampled candidates (--samples) are for reranking to choose among; give a "
                               "positive --rerank, --cycle or --lm-weight")
        if self.pool and (len(self.strengths) < 2 or max(self.beams) <= 1
                          or not any([*self.rerank, *self.cycle, *self.lm_weight])):
            raise TextvaeError("tune: pooled strengths (--pool) rerank the union of several strengths' beams; give two "
                               "strengths or more (--strength 1,1.1), a beam size of 2 or more and a positive "
                               "--rerank, --cycle or --lm-weight")
        if any(self.samples) and max(self.beams) <= 1:
            raise TextvaeError("tune: sampled candidates (--samples) join a beam's; give a beam size of 2 or more")


def reranking_available(model, label_names: Sequence[str], scorer=None) -> Dict[str, Optional[str]]:
    """``{"style": reason or None, "cycle": reason or None}``: which of the model's own rerankers
    it can give (None) and, where not, its one-line reason; with a ``scorer`` (a classifier of its
    own) style reranking is always available."""
    out = {"style": None} if scorer is not None else {}
    for name in ("style", "cycle"):
        if name in out:
            continue
        try:
            model.rerank_scorers(0, style=name == "style", cycle=name == "cycle")
            out[name] = None
        except TextvaeError as exc:
            out[name] = str(exc)
    return out


def check_grid(grid: TuneGrid, model, lm=None, scorer=None) -> None:
    """Refuse, in one line, a grid this model cannot run: bad values, LM weights without an LM, or
    weights for a reranker the model does not have (its own reason)."""
    grid.check()
    if any(grid.lm_weight) and lm is None:
        raise TextvaeError("tune: language-model reranking (--lm-weight) needs a language model (--lm DIR)")
    if grid.pool and not model.model.uses_strength:
        raise TextvaeError(f"tune: --pool pools the beams of several strengths, and a {model.config.model.type} model "
                           "has no strength setting")
    available = reranking_available(model.model, model.label_names, scorer)
    for name, weights in (("style", grid.rerank), ("cycle", grid.cycle)):
        if any(weights) and available[name] is not None:
            raise TextvaeError(f"tune: {available[name]}")


def default_grid(model, label_names: Sequence[str], lm=None, scorer=None) -> TuneGrid:
    """What ``textvae tune`` searches when not told: the model's strengths (split-latent models: 1 to 2;
    a back-translation model's guidance doubles each decode, so only 1), greedy and
    beam 5 / 10, and the rerankers the model has (and LM reranking when an LM is given, style
    reranking when a scorer is)."""
    available = reranking_available(model, label_names, scorer)
    return TuneGrid(strengths=model.tune_strengths, beams=(0, 5, 10),
                    rerank=(0.0, 1.0, 4.0) if available["style"] is None else (0.0,),
                    cycle=(0.0, 1.0, 4.0) if available["cycle"] is None else (0.0,),
                    lm_weight=(0.0, 2.0, 5.0) if lm is not None else (0.0,))


@dataclass
class TuneRule:
    """Most dev self-BLEU among the rows with dev accuracy >= ``min_accuracy`` (percent) and, when
    fluency is measured, outputs' perplexity at most ``max_ppl_ratio`` x the sources'. When no row
    qualifies, the most accurate row that meets the fluency bound (or, failing that, of all rows)."""

    min_accuracy: float = 85.0
    max_ppl_ratio: Optional[float] = 1.5

    def describe(self, fluency: bool) -> str:
        bound = f" and dev PPL <= {self.max_ppl_ratio:g} x the sources'" if fluency and self.max_ppl_ratio else ""
        return (f"most dev self-BLEU with dev accuracy >= {self.min_accuracy:g}%{bound}; "
                "if none qualifies, the most accurate row" + (" within the PPL bound" if bound else ""))

    def choose(self, rows: List[Dict]) -> Tuple[Dict, bool]:
        """``(row, whether it met the accuracy bar)``."""
        fluent = [r for r in rows if self.max_ppl_ratio is None or r.get("ppl_ratio", 0.0) <= self.max_ppl_ratio]
        qualified = [r for r in fluent if r["accuracy"] >= self.min_accuracy]
        if qualified:
            return max(qualified, key=lambda r: (r["self_bleu"], r["accuracy"])), True
        return max(fluent or rows, key=lambda r: (r["accuracy"], r["self_bleu"])), False


def row_settings(row: Dict, lm_path: Optional[str], scorer_path: Optional[str] = None) -> Dict:
    """The transfer settings (``transfer`` keywords) of a table row."""
    settings = {"strength": row["strength"], "strategy": "beam" if row["beam"] > 1 else "greedy"}
    if row["beam"] > 1:
        settings.update(beam_size=row["beam"], samples=row.get("samples", 0), rerank=row["rerank"],
                        rerank_cycle=row["cycle"], rerank_lm=row["lm_weight"])
        if row.get("samples"):
            settings["top_p"] = row["top_p"]
        if row.get("pool_strengths"):
            settings["pool_strengths"] = list(row["pool_strengths"])
        if row["lm_weight"]:
            settings["lm"] = lm_path
        if row["rerank"] and scorer_path:
            settings["scorer"] = scorer_path
    return settings


def tune(model, sample, grid: TuneGrid, rule: TuneRule = TuneRule(), lm=None,
         on_row: Optional[Callable[[Dict], None]] = None, scorer=None, top_p: float = 1.0) -> Dict:
    """Score every setting of ``grid`` for the loaded model ``model`` (a :class:`textvae.TextModel`)
    on ``sample`` (a :class:`DevSample`); ``lm``: the loaded language model for LM reranking;
    ``scorer``: the loaded classifier that style reranking asks instead of the model's own;
    ``top_p``: the nucleus threshold the grid's sampled candidates are drawn with.
    Returns ``{"rows", "choice", "met", "rule"}``; ``on_row(row)`` sees each row as it is scored."""
    from textvae.progress import bar as progress_bar

    check_grid(grid, model, lm, scorer)
    fluency = sample.fluency_lm is not None
    # the beam's length penalty is the model's own (it is not searched)
    length_penalty = model.transfer_settings(rerank=0.0, rerank_cycle=0.0, rerank_lm=0.0)["length_penalty"]
    rows: List[Dict] = []
    bar = progress_bar(grid.size(), "tune", "setting")

    def add(row: Dict, outputs: List[str], seconds: float) -> None:
        scores = sample.score(outputs)
        row.update(accuracy=100 * scores["transfer_acc"], self_bleu=scores["transfer_self_bleu"],
                   sentences=len(outputs), decode_seconds=round(seconds, 1))
        if fluency:
            row["ppl_ratio"] = scores["transfer_ppl_ratio"]
        rows.append(row)
        bar.update()
        if on_row is not None:
            on_row(row)

    def add_reranked(setting: Dict, candidates: List, seconds: float) -> None:
        """The rows of every reranking of one decode's ``candidates`` (the beam's ``beam``, then samples;
        a pool repeats that layout once per strength)."""
        beam, per = setting["beam"], len(candidates[0][0]) // (1 + len(setting.get("pool_strengths", ())))
        scores = torch.stack([c[1] for c in candidates])
        features = {name: torch.stack([c[2][name] for c in candidates]) for name in candidates[0][2]}
        for drawn, rerank, cycle, lm_weight in grid.reranked():
            # each strength's beam candidates, then its first `drawn` samples
            keep = [j for start in range(0, scores.shape[1], per) for j in range(start, start + beam + drawn)]
            best = ranking(reranked_scores(scores[:, keep], {k: v[:, keep] for k, v in features.items()},
                                           rerank, cycle, lm_weight))[:, 0].tolist()
            outputs = [c[0][keep[j]] for c, j in zip(candidates, best)]
            add({**setting, "samples": drawn, **({"top_p": top_p} if drawn else {}),
                 "rerank": rerank, "cycle": cycle, "lm_weight": lm_weight}, outputs, seconds)

    decoded: Dict[int, List[Tuple[List, float]]] = {}  # beam -> every strength's candidates (for the pool)
    for strength, beam in itertools.product(grid.strengths, grid.beams):
        started = time.time()
        if beam <= 1:
            outputs = sample.transfer(lambda sources, to: model.transfer(
                sources, to, strength=strength, strategy="greedy", rerank=0.0, rerank_cycle=0.0, rerank_lm=0.0))
            add({"strength": strength, "beam": 0, "samples": 0, "rerank": 0.0, "cycle": 0.0, "lm_weight": 0.0},
                outputs, time.time() - started)
            continue
        candidates = sample.transfer(lambda sources, to: transfer_candidates(
            model.model, model.tokenizer, model.label_names, sources, to, model.batches, beam, strength=strength,
            style=any(grid.rerank), cycle=any(grid.cycle), lm=lm if any(grid.lm_weight) else None,
            scorer=scorer, length_penalty=length_penalty, samples=max(grid.samples), top_p=top_p))
        seconds = time.time() - started
        add_reranked({"strength": strength, "beam": beam}, candidates, seconds)
        if grid.pool:
            decoded.setdefault(beam, []).append((candidates, seconds))
    for beam, parts in decoded.items():  # the union of the strengths' candidates, first strength's first
        union = [(sum((p[0][i][0] for p in parts), []), torch.cat([p[0][i][1] for p in parts]),
                  {name: torch.cat([p[0][i][2][name] for p in parts]) for name in parts[0][0][i][2]})
                 for i in range(len(parts[0][0]))]
        add_reranked({"strength": grid.strengths[0], "pool_strengths": list(grid.strengths[1:]), "beam": beam},
                     union, sum(p[1] for p in parts))
    bar.close()
    choice, met = rule.choose(rows)
    return {"rows": rows, "choice": choice, "met": met, "rule": rule.describe(fluency)}


def format_table(rows: List[Dict], choice: Optional[Dict] = None) -> str:
    """The rows as a Markdown table (the chosen one marked)."""
    fluency = any("ppl_ratio" in r for r in rows)
    lines = ["| strength | decoding | rerank | cycle | LM | dev acc | dev self-BLEU |"
             + (" dev PPL ratio |" if fluency else "") + " decode s | |",
             "|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if fluency else "") + "---:|---|"]
    for r in rows:
        ppl = f" {r['ppl_ratio']:.2f} |" if fluency else ""
        drawn = f" + {r['samples']} samples (top-p {r['top_p']:g})" if r.get("samples") else ""
        strength = " + ".join(f"{v:g}" for v in [r["strength"], *r.get("pool_strengths", ())])
        lines.append(f"| {strength} | {'beam %d' % r['beam'] + drawn if r['beam'] > 1 else 'greedy'} | "
                     f"{r['rerank']:g} | {r['cycle']:g} | {r['lm_weight']:g} | {r['accuracy']:.1f} | "
                     f"{r['self_bleu']:.1f} |{ppl} {r['decode_seconds']:.0f} | {'**chosen**' if r is choice else ''} |")
    return "\n".join(lines) + "\n"


def tuned_record(result: Dict, split: str, lm_path: Optional[str], grid: TuneGrid,
                 scorer_path: Optional[str] = None) -> Tuple[Dict, Dict]:
    """``(settings, record)`` for :func:`textvae.transfer.defaults.write_tuned`."""
    choice = result["choice"]
    dev = {k: choice[k] for k in ("accuracy", "self_bleu", "ppl_ratio") if k in choice}
    record = {"rule": result["rule"], "met_rule": result["met"], "split": split, "sentences": choice["sentences"],
              "dev": dev, "date": datetime.date.today().isoformat(), "grid": grid.__dict__, "rows": result["rows"]}
    return row_settings(choice, lm_path, scorer_path), record
