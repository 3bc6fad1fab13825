"""The style-transfer evaluation suite: score any system's outputs against a corpus.

For each direction (source label -> target label) it reports

- ``accuracy``: share of outputs the style judge assigns to the target label;
- ``self_bleu`` / ``ref_bleu``: sacrebleu corpus BLEU against the sources and against one or
  more human references (optionally the legacy sentence-averaged BLEU as well);
- ``similarity``: content cosine similarity (averaged word vectors without stopwords and style
  words, John et al. 2019), and ``overlap``: content-word Jaccard;
- ``ppl``: fluency perplexity of the outputs, and ``source_ppl`` of the sources, under the same LM;
- ``ngram_ppl`` / ``source_ngram_ppl``: the same under a Kneser-Ney trigram LM of the training split
  (:mod:`textvae.evaluation.ngram`), independent of the neural LMs that rerank transfers;
- ``gm``: geometric mean of accuracy (in %) and ref-BLEU (self-BLEU without references);
- ``mean``: the TSST-style arithmetic mean of accuracy (%), self-BLEU, ref-BLEU and 100 / ln(PPL)
  (the terms that are available).

Outputs and references are first put in the corpus' own tokenisation
(:mod:`textvae.evaluation.normalize`), so cased, detokenised outputs are scored fairly.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from textvae.errors import TextvaeError
from textvae.evaluation.bleu import corpus_bleu, sentence_bleu_average
from textvae.evaluation.cache import artefact_dir, cached
from textvae.evaluation.normalize import detect_style, normalize_all
from textvae.evaluation.similarity import word_overlap
from textvae.io import atomic_write_text


@dataclass(frozen=True)
class LexiconSettings:
    min_log_odds: float = 1.5
    min_z: float = 3.0
    min_count: int = 5


def cached_style_lexicon(corpus, settings: LexiconSettings = LexiconSettings(),
                         cache_dir: Optional[Path] = None) -> Dict[int, List[Tuple[str, float]]]:
    """The corpus' mined style lexicon (:func:`textvae.evaluation.lexicon.style_lexicon`), cached."""
    from textvae.evaluation.lexicon import style_lexicon

    def build(directory: Path):
        lexicon = style_lexicon(corpus.texts("train"), corpus.labels("train"), settings.min_log_odds,
                                settings.min_z, settings.min_count)
        atomic_write_text(directory / "lexicon.json", json.dumps({str(k): v for k, v in lexicon.items()}) + "\n")
        return lexicon

    def load(directory: Path):
        data = json.loads((directory / "lexicon.json").read_text(encoding="utf-8"))
        return {int(k): [tuple(item) for item in v] for k, v in data.items()}

    return cached(artefact_dir("lexicons", corpus, settings, cache_dir), "lexicon.json", build, load)[0]


@dataclass
class Direction:
    """Sentences of one source label, a system's outputs for a target label, and references."""

    source: int
    target: int
    sources: List[str]
    outputs: List[str]
    references: List[List[str]] = field(default_factory=list)  # references[r][i]


class TransferEvaluator:
    """Scores transfers for one corpus with a fixed judge, LM and similarity model.

    Judge, word vectors, fluency LM and lexicon are trained on the corpus' train split the first
    time and cached (see :mod:`textvae.evaluation.cache`); later evaluations only load them. The
    fluency LM is a textvae model: ``train_lm`` (:func:`textvae.training.train`) trains it.
    """

    def __init__(self, corpus, judge: Optional[str] = None, fluency_lm: Optional[str] = None,
                 similarity_model: Optional[str] = None, normalization: str = "auto",
                 legacy_bleu: bool = False, cache_dir: Optional[Path] = None, device: str = "cpu",
                 fluency_settings=None, progress=print, train_lm=None):
        from textvae.evaluation.embeddings import SentenceEncoder, cached_word_vectors
        from textvae.evaluation.fluency import FluencySettings, HFCausalLM, cached_corpus_lm
        from textvae.evaluation.judge import TransformersJudge, cached_judge
        from textvae.evaluation.ngram import cached_ngram_lm

        self.corpus = corpus
        self.label_names = list(corpus.label_names)
        self.legacy_bleu = legacy_bleu
        sub = (lambda kind: Path(cache_dir) / kind) if cache_dir else (lambda kind: None)
        if judge:
            self.judge = TransformersJudge(judge, self.label_names, device=device)
            if "dev" in corpus.datasets:
                self.judge.dev_accuracy = self.judge.accuracy(corpus.texts("dev"), corpus.labels("dev"))
        else:
            self.judge, loaded = cached_judge(corpus, cache_dir=sub("judges"))
            if not loaded:
                progress("trained the fastText judge (cached for next time)")
        if fluency_lm:
            self.lm = HFCausalLM(fluency_lm, device=device)
        else:
            self.lm, loaded = cached_corpus_lm(corpus, fluency_settings or FluencySettings(),
                                               cache_dir=sub("fluency_lm"), train=train_lm)
            if not loaded:
                progress("trained the fluency LM (cached for next time)")
        if similarity_model:
            self.similarity = SentenceEncoder(similarity_model, device=device)
        else:
            self.similarity, loaded = cached_word_vectors(corpus, cache_dir=sub("word_vectors"))
            if not loaded:
                progress("trained the word vectors for content similarity (cached for next time)")
        self.ngram, _ = cached_ngram_lm(corpus, cache_dir=sub("ngram_lm"))
        self.lexicon = cached_style_lexicon(corpus, cache_dir=sub("lexicons"))
        self.style_words = {word for words in self.lexicon.values() for word, _ in words}
        self.normalization = detect_style(corpus.texts("train")) if normalization == "auto" else normalization

    def describe(self) -> Dict[str, object]:
        return {
            "judge": self.judge.name, "judge_dev_accuracy": self.judge.dev_accuracy,
            "fluency_lm": self.lm.name, "ngram_lm": f"{self.ngram.order}-gram Kneser-Ney of the training split",
            "similarity": self.similarity.name,
            "normalization": self.normalization, "style_words": len(self.style_words),
        }

    def label(self, name_or_index: str) -> int:
        """A label index from its name or number."""
        return label_index(self.label_names, name_or_index)

    def score(self, sources: Sequence[str], outputs: Sequence[str], target: int,
              references: Sequence[Sequence[str]] = ()) -> Dict[str, object]:
        """Every metric for ``outputs`` (transfers of ``sources`` into label ``target``)."""
        if len(outputs) != len(sources):
            raise TextvaeError(f"{len(outputs)} outputs for {len(sources)} sources; give one output per source")
        if not outputs:
            raise TextvaeError("no outputs to evaluate")
        for r, stream in enumerate(references):
            if len(stream) != len(sources):
                raise TextvaeError(f"reference set {r + 1} has {len(stream)} lines for {len(sources)} sources")
        return self._metrics(list(sources), list(outputs), [target] * len(outputs), references)

    def evaluate(self, directions: Sequence[Direction]) -> Dict[str, object]:
        """Scores per direction and over all directions pooled, plus what was used to score."""
        if not directions:
            raise TextvaeError("no directions to evaluate")
        from textvae.progress import bar

        rows = {}
        shown = bar(sum(len(d.outputs) for d in directions) * (2 if len(directions) > 1 else 1), "score")
        for d in directions:
            rows[f"{self.label_names[d.source]}->{self.label_names[d.target]}"] = self.score(
                d.sources, d.outputs, d.target, d.references)
            shown.update(len(d.outputs))
        if len(directions) > 1:
            n_refs = {len(d.references) for d in directions}
            if len(n_refs) > 1:
                raise TextvaeError("every direction needs the same number of reference sets")
            rows["overall"] = self._metrics(
                [s for d in directions for s in d.sources], [o for d in directions for o in d.outputs],
                [d.target for d in directions for _ in d.outputs],
                [[line for d in directions for line in d.references[r]] for r in range(n_refs.pop())])
            shown.update(sum(len(d.outputs) for d in directions))
        shown.close()
        sample = [d.outputs[0] for d in directions]
        return {**self.describe(), "bleu_signature": corpus_bleu(sample, [sample])["signature"],
                "directions": rows}

    def _metrics(self, sources: List[str], outputs: List[str], targets: List[int],
                 references: Sequence[Sequence[str]]) -> Dict[str, object]:
        sources = normalize_all(sources, self.normalization)  # a no-op for a tokenised corpus
        outputs = normalize_all(outputs, self.normalization)
        references = [normalize_all(stream, self.normalization) for stream in references]
        predicted = self.judge.predict(outputs)
        result: Dict[str, object] = {
            "n": len(outputs),
            "accuracy": sum(p == t for p, t in zip(predicted, targets)) / len(outputs),
            "self_bleu": corpus_bleu(outputs, [sources])["bleu"],
            "ref_bleu": corpus_bleu(outputs, references)["bleu"] if references else None,
            "similarity": _mean(self.similarity.content_similarity(sources, outputs, self.style_words)),
            "overlap": _mean(word_overlap(sources, outputs, self.style_words)),
            "ppl": self.lm.perplexity(outputs),
            "source_ppl": self.lm.perplexity(sources),
            "ngram_ppl": self.ngram.perplexity(outputs),  # independent of every neural LM in textvae
            "source_ngram_ppl": self.ngram.perplexity(sources),
        }
        if self.legacy_bleu:
            result["legacy_self_bleu"] = sentence_bleu_average(outputs, [sources])
            result["legacy_ref_bleu"] = sentence_bleu_average(outputs, references) if references else None
        result.update(aggregates(result))
        return result


def aggregates(row: Dict[str, object]) -> Dict[str, float]:
    """``gm``: sqrt(accuracy% x BLEU) with ref-BLEU when there are references, else self-BLEU;
    ``mean``: mean of accuracy%, self-BLEU, ref-BLEU (if any) and 100 / ln(PPL)."""
    acc = 100.0 * float(row["accuracy"])
    bleu = row["ref_bleu"] if row.get("ref_bleu") is not None else row["self_bleu"]
    terms = [acc, row["self_bleu"]] + ([row["ref_bleu"]] if row.get("ref_bleu") is not None else [])
    ppl = float(row["ppl"])
    terms.append(100.0 / math.log(ppl) if ppl > 1 else 100.0)
    return {"gm": math.sqrt(max(acc, 0.0) * max(float(bleu), 0.0)), "mean": sum(terms) / len(terms)}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / max(len(values), 1)


# ---------------------------------------------------------------- files and tables

def read_lines(path: Path, what: str) -> List[str]:
    path = Path(path)
    if not path.is_file():
        raise TextvaeError(f"{what} file {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise TextvaeError(f"{what} file {path} is empty")
    return lines


def read_references(path: Path) -> List[str]:
    """One reference a line; Li et al. (2018) files hold ``source<TAB>reference``: take the reference."""
    lines = read_lines(path, "references")
    if all("\t" in line for line in lines):
        return [line.rsplit("\t", 1)[1] for line in lines]
    return lines


def file_for(prefix: str, source: int, target: int, names: Sequence[str]) -> Path:
    """``PREFIX.{source}``, or the prefix itself when it has ``{source}``/``{target}`` placeholders
    (numbers or, with ``{source_name}``/``{target_name}``, label names)."""
    if "{" in prefix:
        return Path(prefix.format(source=source, target=target, source_name=names[source],
                                  target_name=names[target]))
    return Path(f"{prefix}.{source}")


def label_index(names: Sequence[str], name_or_index: str) -> int:
    """A label index from its name or number."""
    if name_or_index in names:
        return list(names).index(name_or_index)
    if name_or_index.isdigit() and int(name_or_index) < len(names):
        return int(name_or_index)
    raise TextvaeError(f"unknown style {name_or_index!r}; the corpus has "
                       + ", ".join(f"{i} ({n})" for i, n in enumerate(names)))


def parse_directions(spec: Optional[str], names: Sequence[str]) -> List[Tuple[int, int]]:
    """``"0->1,1->0"`` (numbers or label names); default: every label to the other of two."""
    if not spec:
        if len(names) != 2:
            raise TextvaeError(f"the corpus has {len(names)} styles; say which transfers "
                               "to score with --direction, e.g. 0->1,1->2")
        return [(0, 1), (1, 0)]
    pairs = []
    for part in spec.split(","):
        if "->" not in part:
            raise TextvaeError(f"direction {part!r} is not of the form SOURCE->TARGET, e.g. 0->1")
        a, b = (label_index(names, x.strip()) for x in part.split("->", 1))
        if a == b:
            raise TextvaeError(f"direction {part!r} transfers a style to itself")
        pairs.append((a, b))
    return pairs


def load_directions(corpus, split: str, outputs: str, references: Sequence[str],
                    spec: Optional[str]) -> List[Direction]:
    """Sources from the corpus split, outputs and references from files named by their prefixes
    (read and checked before any judge or LM is built)."""
    names = list(corpus.label_names)
    if split not in corpus.datasets:
        raise TextvaeError(f"corpus {corpus.source} has no {split} split")
    texts, labels = corpus.texts(split), corpus.labels(split)
    directions = []
    for a, b in parse_directions(spec, names):
        sources = [t for t, y in zip(texts, labels) if y == a]
        if not sources:
            raise TextvaeError(f"the {split} split has no sentences of style {names[a]!r}")
        out_path = file_for(outputs, a, b, names)
        outs = read_lines(out_path, "outputs")
        if len(outs) != len(sources):
            raise TextvaeError(f"{out_path} has {len(outs)} lines but the {split} split has {len(sources)} "
                               f"{names[a]!r} sentences; give one output per source, in order")
        refs = []
        for prefix in references:
            ref_path = file_for(prefix, a, b, names)
            stream = read_references(ref_path)
            if len(stream) != len(sources):
                raise TextvaeError(f"{ref_path} has {len(stream)} lines but there are {len(sources)} sources")
            refs.append(stream)
        directions.append(Direction(a, b, sources, outs, refs))
    return directions


COLUMNS = [("accuracy", "acc %", 100.0), ("self_bleu", "self-BLEU", 1.0), ("ref_bleu", "ref-BLEU", 1.0),
           ("legacy_self_bleu", "sent-BLEU self", 1.0), ("legacy_ref_bleu", "sent-BLEU ref", 1.0),
           ("similarity", "cos sim", 1.0), ("overlap", "overlap", 1.0), ("ppl", "PPL", 1.0),
           ("source_ppl", "source PPL", 1.0), ("ngram_ppl", "n-gram PPL", 1.0),
           ("source_ngram_ppl", "source n-gram PPL", 1.0), ("gm", "GM", 1.0), ("mean", "mean", 1.0)]


def format_scores(result: Dict[str, object], fmt: str = "md") -> str:
    """The scores as a Markdown table (with what scored them), JSON or CSV."""
    if fmt == "json":
        return json.dumps(result, indent=2) + "\n"
    rows = result["directions"]
    columns = [c for c in COLUMNS if any(row.get(c[0]) is not None for row in rows.values())]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["direction", "n"] + [key for key, _, _ in columns])
        for name, row in rows.items():
            writer.writerow([name, row["n"]] + ["" if row.get(k) is None else row[k] for k, _, _ in columns])
        return buffer.getvalue()
    if fmt != "md":
        raise TextvaeError(f"unknown format {fmt!r}; choose md, json or csv")

    def cell(value, scale):
        return "-" if value is None else f"{value * scale:.2f}"

    dev = result.get("judge_dev_accuracy")
    lines = [f"judge: {result['judge']} (dev accuracy {'-' if dev is None else f'{100 * dev:.2f}%'})",
             f"fluency LM: {result['fluency_lm']}; n-gram LM: {result.get('ngram_lm', '-')}",
             f"content similarity: {result['similarity']}; {result['style_words']} mined style words removed",
             f"BLEU: {result['bleu_signature']}; outputs normalised as {result['normalization']!r}", "",
             "| direction | n | " + " | ".join(title for _, title, _ in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['n']} | " + " | ".join(cell(row.get(k), s) for k, _, s in columns) + " |")
    return "\n".join(lines) + "\n"


def score_model(model, evaluator: TransferEvaluator, split: str = "test", save_to: Optional[Path] = None,
                method: str = "model", **options) -> Dict[str, object]:
    """Transfer every sentence of ``split`` to another style with a trained model (``textvae.load``)
    and score the transfers; with ``save_to``, the transfers go to ``save_to/transfer.SPLIT.A``.
    ``method``: ``model`` (its own transfer) or ``traverse`` (moving its codes, ``model.manipulate``;
    ``options`` then hold ``steps``, ``step_size``, ... and decoding options)."""
    if method not in ("model", "traverse"):
        raise TextvaeError(f"unknown transfer method {method!r}; choose model or traverse")
    transfer = model.transfer if method == "model" else model.manipulate
    corpus, k = evaluator.corpus, len(evaluator.label_names)
    texts, labels = corpus.texts(split), corpus.labels(split)
    directions = []
    for a in range(k):
        b = (a + 1) % k
        sources = [t for t, y in zip(texts, labels) if y == a]
        if not sources:
            continue
        outputs = transfer(sources, to=evaluator.label_names[b], **options)
        if save_to is not None:
            atomic_write_text(Path(save_to) / f"transfer.{split}.{a}", "".join(o + "\n" for o in outputs))
        directions.append(Direction(a, b, sources, outputs))
    return evaluator.evaluate(directions)
