"""Load labelled sentence corpora into a ``datasets.DatasetDict`` with a content fingerprint.

One entry point, :func:`load_corpus`, reads every source the toolkit supports: a directory
in the Yelp/Amazon release format (``train.0`` or ``sentiment.train.0``), CSV/TSV/JSON
files, the in-memory synthetic corpus and Hugging Face hub datasets.  Whatever the source,
the result has the same shape: splits among train/dev/test, a ``text`` column and a
``label`` ``ClassLabel`` column whose names are the style names.  Blank and over-long lines
are skipped and counted rather than fatal, because real releases contain a few; a label file
left with no sentence at all is an error, in every split.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

import datasets

from textvae.data import synthetic
from textvae.errors import TextvaeError

SPLITS = ("train", "dev", "test")
TABLE_FORMATS = {".csv": ("csv", ","), ".tsv": ("csv", "\t"), ".jsonl": ("json", None), ".json": ("json", None)}
BINARY_NAMES = ["negative", "positive"]  # the Yelp/Amazon releases use 0 = negative, 1 = positive
_RELEASE_FILE = re.compile(r"^(?:sentiment\.)?(train|dev|test)\.([^.\s]+)$")
_SYNTHETIC = re.compile(r"^synthetic(?::(.*))?$")
_FACTORS = re.compile(r"^factors(?::(.*))?$")

LabelNames = Optional[Union[Sequence[str], Mapping[str, str]]]

# Readers return (raw, known).  raw maps a split to items (key, lines, where): `key` is the
# label of every line (a file suffix) or a list with one label value per line (a table row),
# and `where` names the file in messages.  known maps keys to names when the source says
# (labels.json, a ClassLabel).  _build turns keys into ids and names.
Raw = dict[str, list[tuple[Union[str, list[str]], list[str], str]]]
Known = Optional[dict[str, str]]


@dataclass
class Corpus:
    """Splits of labelled sentences plus what is needed to describe and cache them."""

    datasets: datasets.DatasetDict
    label_names: list[str]
    source: str
    skipped: dict[str, int]
    fingerprint: str

    @property
    def splits(self) -> list[str]:
        return [split for split in SPLITS if split in self.datasets]

    def _split(self, split: str) -> datasets.Dataset:
        if split not in self.datasets:
            raise TextvaeError(
                f"corpus {self.source} has no {split!r} split (it has {', '.join(self.splits)})"
            )
        return self.datasets[split]

    def texts(self, split: str) -> list[str]:
        return self._split(split).select_columns("text")[:]["text"]

    def labels(self, split: str) -> list[int]:
        return self._split(split).select_columns("label")[:]["label"]


def load_corpus(
    source: str,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_names: LabelNames = None,
    max_tokens: Optional[int] = None,
    splits: Iterable[str] = SPLITS,
    synthetic_size: Optional[int] = None,
) -> Corpus:
    """Load ``source``: a release directory, a CSV/TSV/JSON(L) file or directory of them,
    ``synthetic`` / ``synthetic:N``, or a Hugging Face hub dataset name.

    ``label_names`` names the labels: a mapping from label key (file suffix or label
    value) to name, or a list.  A list that permutes the names the source already gives
    (named files, labels.json, a ClassLabel) reorders the label ids; any other list renames
    the labels in key order (0, 1, ...).  Lines with more than ``max_tokens`` whitespace
    tokens are skipped and counted in ``Corpus.skipped``.
    ``synthetic_size`` is the number of training sentences for ``synthetic``.
    """
    source = str(source)
    splits = tuple(splits)
    bad = [split for split in splits if split not in SPLITS] or ([] if splits else ["(none)"])
    if bad:
        raise TextvaeError(f"unknown split {bad[0]!r}; choose from {', '.join(SPLITS)}")
    path = Path(source).expanduser()
    synthetic_match = _SYNTHETIC.match(source)
    factors_match = _FACTORS.match(source)
    if synthetic_match and not path.exists():
        raw, known = _read_synthetic(synthetic_match.group(1), synthetic_size, splits)
    elif factors_match and not path.exists():
        raw, known = _read_factor_corpus(factors_match.group(1), splits)
    elif path.is_dir() and _table_files(path):
        raw, known = _read_tables(_table_files(path), text_column, label_column, splits)
    elif path.is_dir():
        raw, known = _read_release_dir(path, splits)
    elif path.is_file():
        if path.suffix.lower() not in TABLE_FORMATS:
            raise TextvaeError(
                f"{path} is neither a corpus directory nor a .csv/.tsv/.jsonl/.json file; "
                "pass a directory with train.0/train.1 files or a table file"
            )
        raw, known = _read_tables({"train": path}, text_column, label_column, splits)
    elif _looks_like_path(source):
        raise TextvaeError(f"corpus path {source} does not exist; check the path")
    elif source in _fetchable():
        raise TextvaeError(
            f"{source!r} is not a local path; download it with `textvae data fetch {source} --dest DIR` and pass DIR"
        )
    else:
        raw, known = _read_hub(source, text_column, label_column, splits)
    if not raw:
        raise TextvaeError(f"{source} has none of the requested splits ({', '.join(splits)})")
    return _build(source, raw, known, label_names, max_tokens)


def _fetchable() -> list[str]:
    from textvae.data.sources import known_sources

    return known_sources()


def _looks_like_path(source: str) -> bool:
    """Hub names are ``name`` or ``owner/name``; anything else that is missing is a bad path."""
    return (
        source.startswith(("/", ".", "~"))
        or source.count("/") > 1
        or "\\" in source
        or Path(source).suffix.lower() in TABLE_FORMATS
    )


def _read_synthetic(count: Optional[str], synthetic_size: Optional[int], splits) -> tuple[Raw, Known]:
    data = synthetic.synthetic_splits(n_train=_size(count, "synthetic", synthetic_size or 20000))
    raw: Raw = {}
    for split in splits:
        raw[split] = [
            (str(label), [e.text for e in data[split] if e.label == label], f"synthetic {split}")
            for label in range(len(synthetic.LABEL_NAMES))
        ]
    return raw, {str(label): name for label, name in enumerate(synthetic.LABEL_NAMES)}


def _read_factor_corpus(count: Optional[str], splits) -> tuple[Raw, Known]:
    """``factors[:N]``: the factor corpus (:mod:`textvae.data.factors`) in memory, N training sentences."""
    from textvae.data.factors import FACTORS, factor_splits

    data = factor_splits(_size(count, "factors", 20000))
    names = FACTORS["sentiment"]
    raw: Raw = {split: [(str(label), [e.text for e in data[split] if e.factors["sentiment"] == label],
                         f"factors {split}") for label in range(len(names))] for split in splits}
    return raw, {str(label): name for label, name in enumerate(names)}


def _size(count: Optional[str], name: str, default: int) -> int:
    if not count:
        return default
    if not count.isdigit() or int(count) < 1:
        raise TextvaeError(f"bad {name} size {count!r}; write {name}:N with N a positive number")
    return int(count)


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, without trailing newlines."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TextvaeError(
            f"{path} is not valid UTF-8 (line {line}); convert it, e.g. `iconv -f latin1 -t utf-8 {path.name}`"
        ) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _sort_keys(keys: Iterable[str]) -> list[str]:
    keys = list(keys)
    if all(key.isdigit() for key in keys):
        return sorted(keys, key=int)
    return sorted(keys)


def _read_release_dir(path: Path, splits) -> tuple[Raw, Known]:
    files: dict[str, dict[str, Path]] = {}
    for file in sorted(path.iterdir()):
        match = _RELEASE_FILE.match(file.name)
        if not match or not file.is_file():
            continue
        split, key = match.groups()
        other = files.setdefault(split, {}).get(key)
        if other is not None:
            raise TextvaeError(f"{path} has both {other.name} and {file.name}; keep only one of them")
        files[split][key] = file
    # the labels come from train; a folder without one (e.g. only a test split to evaluate) uses the split asked for
    reference = "train" if "train" in files else next((split for split in splits if split in files), None)
    if "train" not in files and ("train" in splits or reference is None):
        wanted = "train" if "train" in splits else splits[0]
        raise TextvaeError(
            f"{path} has no {wanted} files; expected {wanted}.0/{wanted}.1 (or sentiment.{wanted}.0, {wanted}.positive, ...)"
        )
    keys = _sort_keys(files[reference])
    for split, by_key in files.items():
        for key in keys:
            if key not in by_key:
                raise TextvaeError(
                    f"{path}: {split} has no file for label {key!r} (expected {split}.{key}); "
                    "every split needs one file per label"
                )
        for key in by_key:
            if key not in files[reference]:
                raise TextvaeError(f"{path}: {by_key[key].name} has label {key!r} that {reference} lacks; "
                                   f"add {reference}.{key} or remove it")
    raw: Raw = {
        split: [(key, _read_lines(files[split][key]), str(files[split][key])) for key in keys]
        for split in splits
        if split in files
    }
    return raw, _labels_json(path, keys)


def _labels_json(path: Path, keys: list[str]) -> Known:
    mapping_file = path / "labels.json"
    if mapping_file.is_file():
        try:
            mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise TextvaeError(f"{mapping_file} is not valid JSON ({error}); fix or delete it") from None
        if not isinstance(mapping, dict) or any(key not in mapping for key in keys):
            raise TextvaeError(
                f"{mapping_file} must map every label suffix ({', '.join(keys)}) to a name, "
                'e.g. {"0": "negative", "1": "positive"}'
            )
        return {key: str(mapping[key]) for key in keys}
    return None


def _table_files(path: Path) -> dict[str, Path]:
    found = {}
    for split in SPLITS:
        candidates = [path / f"{split}{suffix}" for suffix in TABLE_FORMATS]
        existing = [c for c in candidates if c.is_file()]
        if len(existing) > 1:
            raise TextvaeError(f"{path} has both {existing[0].name} and {existing[1].name}; keep only one")
        if existing:
            found[split] = existing[0]
    if found and "train" not in found:
        raise TextvaeError(f"{path} has {', '.join(p.name for p in found.values())} but no train file; add one")
    return found


def _read_tables(files: dict[str, Path], text_column, label_column, splits) -> tuple[Raw, Known]:
    raw: Raw = {}
    for split, file in files.items():
        if split not in splits:
            continue
        builder, delimiter = TABLE_FORMATS[file.suffix.lower()]
        options = {"delimiter": delimiter} if delimiter else {}
        try:
            table = datasets.load_dataset(builder, data_files={"train": str(file)}, split="train", **options)
        except Exception as error:  # the builders raise many types for malformed input
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TextvaeError(f"could not read {file} ({reason}); check that it is a well-formed table") from None
        raw[split] = _table_groups(table, text_column, label_column, str(file))
    return raw, None


def _table_groups(table: datasets.Dataset, text_column, label_column, where: str):
    """One raw item for a whole table, rows kept in file order."""
    for column in (text_column, label_column):
        if column not in table.column_names:
            raise TextvaeError(
                f"{where} has no {column!r} column (it has {', '.join(table.column_names)}); "
                f"pass text_column=/label_column= to name the right ones"
            )
    data = table.select_columns([text_column, label_column])[:]
    if any(value is None for value in data[label_column]):
        raise TextvaeError(f"{where} has a row with no label in column {label_column!r}; fill it in or drop it")
    keys = [str(value) for value in data[label_column]]
    return [(keys, ["" if text is None else str(text) for text in data[text_column]], where)]


def _read_hub(name: str, text_column, label_column, splits) -> tuple[Raw, Known]:
    try:
        loaded = datasets.load_dataset(name)
    except Exception as error:
        raise TextvaeError(
            f"{name!r} is neither a local path nor a reachable Hugging Face hub dataset "
            f"({type(error).__name__}); check the name, or the path and your connection"
        ) from None
    raw: Raw = {}
    known = None
    for hub_split, table in loaded.items():
        split = "dev" if hub_split == "validation" else hub_split
        if split not in splits:
            continue
        raw[split] = _table_groups(table, text_column, label_column, f"{name} ({hub_split})")
        feature = table.features.get(label_column)
        if isinstance(feature, datasets.ClassLabel):
            known = {str(index): name for index, name in enumerate(feature.names)}
    if "train" not in raw and "train" in splits:
        raise TextvaeError(f"hub dataset {name} has no train split (it has {', '.join(loaded)})")
    return raw, known


def _label_order(raw: Raw, known: Known, label_names: LabelNames) -> tuple[list[str], list[str]]:
    """Label keys in id order and their names.

    Names come from ``label_names``, else from the source (labels.json, a ClassLabel),
    else from named keys, else the release convention 0/1 = negative/positive, else
    the numeric keys themselves.  A ``label_names`` list that permutes the known names
    reorders the ids; any other list renames the labels in key order.
    """
    groups = raw.get("train") or next(iter(raw.values()), [])
    keys = _sort_keys({key for item, _, _ in groups for key in ([item] if isinstance(item, str) else item)})
    if known is not None:
        current = [known[key] for key in keys]
    elif not all(key.isdigit() for key in keys):
        current = list(keys)
    else:
        current = list(BINARY_NAMES) if keys == ["0", "1"] else list(keys)
    if label_names is None:
        return keys, current
    if isinstance(label_names, Mapping):
        missing = [key for key in keys if key not in label_names]
        if missing:
            raise TextvaeError(f"label_names has no name for label {missing[0]!r}; map every label ({', '.join(keys)})")
        return keys, [str(label_names[key]) for key in keys]
    wanted = [str(name) for name in label_names]
    authoritative = known is not None or not all(key.isdigit() for key in keys)
    if authoritative and sorted(wanted) == sorted(current):
        return [keys[current.index(name)] for name in wanted], wanted
    if len(wanted) != len(keys):
        raise TextvaeError(f"label_names has {len(wanted)} names but the corpus has {len(keys)} labels ({', '.join(keys)})")
    return keys, wanted


def _build(source: str, raw: Raw, known: Known, label_names: LabelNames, max_tokens: Optional[int]) -> Corpus:
    keys, names = _label_order(raw, known, label_names)
    if len(set(names)) != len(names):
        raise TextvaeError(f"label names must be distinct, got {', '.join(names)}")
    ids = {key: index for index, key in enumerate(keys)}
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    skipped = {"blank": 0, "too_long": 0}
    digest = hashlib.sha256(json.dumps(names).encode("utf-8"))
    built = {}

    def in_id_order(item) -> int:  # files of one label each go in label-id order
        return ids.get(item[0], -1) if isinstance(item[0], str) else -1

    for split in (split for split in SPLITS if split in raw):
        texts: list[str] = []
        labels: list[int] = []
        unusable: list[tuple[str, str]] = []  # (file, label name) of label files with no sentence left
        for key, lines, where in sorted(raw[split], key=in_id_order):
            kept = len(texts)
            line_keys = [key] * len(lines) if isinstance(key, str) else key
            unknown = [line_key for line_key in dict.fromkeys(line_keys) if line_key not in ids]
            if unknown:
                raise TextvaeError(f"{where} has label {unknown[0]!r} that train lacks; add it to train or remove it")
            for line, line_key in zip(lines, line_keys):
                line = line.strip()
                if not line:
                    skipped["blank"] += 1
                elif max_tokens is not None and len(line.split()) > max_tokens:
                    skipped["too_long"] += 1
                else:
                    texts.append(line)
                    labels.append(ids[line_key])
            if isinstance(key, str) and len(texts) == kept:
                unusable.append((where, names[ids[key]]))
        if not texts:
            raise TextvaeError(
                f"the {split} split of {source} is empty after skipping {skipped['blank']} blank and "
                f"{skipped['too_long']} over-long lines; check the files or raise max_tokens"
            )
        if unusable:
            where, name = unusable[0]
            raise TextvaeError(f"{where} has no sentences labelled {name!r} after skipping blank and over-long "
                               "lines; every split needs every label")
        present = set(labels)
        if split == "train" and len(present) < len(names):
            missing = next(name for index, name in enumerate(names) if index not in present)
            raise TextvaeError(f"the train split of {source} has no sentences labelled {missing!r}; add some")
        digest.update(f"\0{split}\0".encode("utf-8"))
        digest.update("\n".join(f"{label}\t{text}" for label, text in zip(labels, texts)).encode("utf-8"))
        built[split] = datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)
    return Corpus(datasets.DatasetDict(built), names, source, skipped, digest.hexdigest())
