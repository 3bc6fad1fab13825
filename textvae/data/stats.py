"""Corpus statistics: enough to pick ``max_tokens`` and spot a skewed or broken split."""

from __future__ import annotations

import math

from textvae.data.corpus import Corpus

PERCENTILES = (50, 90, 95, 99)


def _percentile(sorted_values: list[int], percent: float) -> int:
    """Nearest-rank percentile: a length that actually occurs in the data."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def corpus_stats(corpus: Corpus) -> dict:
    """Per split: sentence and label counts, length percentiles (whitespace tokens) and,
    for train, the vocabulary size; plus the corpus-wide skipped-line counts."""
    splits = {}
    for split in corpus.splits:
        texts, labels = corpus.texts(split), corpus.labels(split)
        tokens = [text.split() for text in texts]
        lengths = sorted(len(sentence) for sentence in tokens)
        counts = [0] * len(corpus.label_names)
        for label in labels:
            counts[label] += 1
        entry = {
            "sentences": len(texts),
            "labels": {
                name: {"count": count, "share": count / len(texts)}
                for name, count in zip(corpus.label_names, counts)
            },
            "length": {f"p{p}": _percentile(lengths, p) for p in PERCENTILES},
        }
        entry["length"]["max"] = lengths[-1]
        if split == "train":
            entry["vocabulary"] = len({word for sentence in tokens for word in sentence})
        splits[split] = entry
    return {
        "source": corpus.source,
        "fingerprint": corpus.fingerprint,
        "label_names": list(corpus.label_names),
        "skipped": dict(corpus.skipped),
        "splits": splits,
        "notes": _label_notes(corpus.label_names, splits),
    }


def _label_notes(names, splits: dict) -> list[str]:
    """What the label counts mean for training: one label means no style model can train on the
    corpus; a label with no sentences in a split cannot be scored or transferred there."""
    notes = []
    if len(names) < 2:
        only = f" ({names[0]!r})" if names else ""
        notes.append(f"the corpus has one label{only}: VAEs, autoencoders and language models train on it, "
                     "but style-transfer models need two or more labels (one file per label, or a label column)")
    for split, entry in splits.items():
        empty = [name for name, value in entry["labels"].items() if value["count"] == 0]
        if empty and len(names) >= 2:
            notes.append(f"{split} has no sentences labelled {', '.join(map(repr, empty))}")
    return notes


def format_stats(stats: dict) -> str:
    """:func:`corpus_stats` as Markdown: a short heading and an aligned table."""
    names = stats["label_names"]
    length_keys = [f"p{p}" for p in PERCENTILES] + ["max"]
    header = ["split", "sentences", *names, *(f"len {key}" for key in length_keys), "vocabulary"]
    rows = []
    for split, entry in stats["splits"].items():
        labels = [
            f"{entry['labels'][name]['count']:,} ({entry['labels'][name]['share']:.1%})" for name in names
        ]
        lengths = [str(entry["length"][key]) for key in length_keys]
        vocabulary = f"{entry['vocabulary']:,}" if "vocabulary" in entry else "-"
        rows.append([split, f"{entry['sentences']:,}", *labels, *lengths, vocabulary])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    skipped = stats["skipped"]
    return "\n".join([
        f"corpus `{stats['source']}` (fingerprint {stats['fingerprint'][:12]}); lengths in whitespace tokens",
        "",
        line(header),
        rule,
        *(line(row) for row in rows),
        "",
        f"skipped lines: {skipped.get('blank', 0):,} blank, {skipped.get('too_long', 0):,} over-long",
        *(f"note: {note}" for note in stats.get("notes", [])),
    ])
