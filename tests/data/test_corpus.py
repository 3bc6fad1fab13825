"""Loading corpora from every source kind, with clear errors for bad input."""

import json

import datasets
import pytest

from textvae.data import corpus as corpus_module
from textvae.data.corpus import load_corpus
from textvae.data.stats import corpus_stats, format_stats
from textvae.errors import TextvaeError

TRAIN_0 = ["the soup was cold .", "rude staff ."]
TRAIN_1 = ["great pizza !", "the staff was kind .", "i love it ."]


@pytest.fixture(autouse=True)
def _private_hf_cache(tmp_path, monkeypatch):
    """Keep the csv/json builders' arrow caches out of the user's ~/.cache."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def write(directory, files):
    directory.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        content = lines if isinstance(lines, bytes) else "".join(line + "\n" for line in lines).encode()
        (directory / name).write_bytes(content)
    return directory


def release(directory, prefix="", labels=("0", "1"), extra=None):
    files = {}
    for split, size in (("train", None), ("dev", 1), ("test", 1)):
        for label, lines in zip(labels, (TRAIN_0, TRAIN_1)):
            files[f"{prefix}{split}.{label}"] = lines if size is None else lines[:size]
    files.update(extra or {})
    return write(directory, files)


def test_release_directory_numeric_labels_are_negative_positive(tmp_path):
    corpus = load_corpus(str(release(tmp_path / "c")))
    assert corpus.label_names == ["negative", "positive"]
    assert corpus.splits == ["train", "dev", "test"]
    assert corpus.texts("train") == TRAIN_0 + TRAIN_1
    assert corpus.labels("train") == [0, 0, 1, 1, 1]
    assert corpus.datasets["train"].features["label"].names == ["negative", "positive"]
    assert corpus.skipped == {"blank": 0, "too_long": 0}


def test_release_naming_sentiment_prefix_and_reference_files_ignored(tmp_path):
    directory = release(tmp_path / "c", prefix="sentiment.", extra={"reference.0": ["a\tb"], "reference.test.1": ["x"]})
    corpus = load_corpus(str(directory))
    assert corpus.texts("dev") == [TRAIN_0[0], TRAIN_1[0]]
    assert corpus.fingerprint == load_corpus(str(release(tmp_path / "ours"))).fingerprint


def test_named_suffixes_labels_json_and_many_numeric_labels(tmp_path):
    named = load_corpus(str(release(tmp_path / "named", labels=("positive", "negative"))))
    assert named.label_names == ["negative", "positive"]
    assert named.texts("train")[:3] == TRAIN_1  # train.negative holds TRAIN_1 here
    mapped = release(tmp_path / "mapped", extra={"labels.json": [json.dumps({"0": "informal", "1": "formal"})]})
    assert load_corpus(str(mapped)).label_names == ["informal", "formal"]
    three = write(tmp_path / "three", {"train.0": ["a"], "train.1": ["b"], "train.2": ["c"]})
    assert load_corpus(str(three)).label_names == ["0", "1", "2"]


def test_label_names_argument_renames_or_reorders(tmp_path):
    numeric = release(tmp_path / "n")
    assert load_corpus(str(numeric), label_names=["pos", "neg"]).label_names == ["pos", "neg"]
    assert load_corpus(str(numeric), label_names={"0": "bad", "1": "good"}).label_names == ["bad", "good"]
    named = release(tmp_path / "named", labels=("negative", "positive"))
    reordered = load_corpus(str(named), label_names=["positive", "negative"])
    assert reordered.label_names == ["positive", "negative"]
    assert reordered.texts("train")[:3] == TRAIN_1 and reordered.labels("train")[:3] == [0, 0, 0]
    with pytest.raises(TextvaeError, match="3 names but the corpus has 2 labels"):
        load_corpus(str(numeric), label_names=["a", "b", "c"])


def test_blank_and_over_long_lines_are_skipped_and_counted(tmp_path):
    directory = release(tmp_path / "c", extra={"train.0": ["", "  the soup was cold .  ", "   ", "way " * 30]})
    corpus = load_corpus(str(directory), max_tokens=20)
    assert corpus.texts("train")[0] == "the soup was cold ."
    assert corpus.labels("train").count(0) == 1
    assert corpus.skipped == {"blank": 2, "too_long": 1}


@pytest.mark.parametrize(
    "files, message",
    [
        ({}, "has no train files"),
        ({"train.0": ["a"], "train.1": ["b"], "dev.0": ["c"]}, r"dev has no file for label '1' \(expected dev.1\)"),
        ({"train.0": ["a"], "train.1": ["b"], "test.0": ["c"], "test.1": ["d"], "test.2": ["e"]}, "test.2 has label '2'"),
        ({"train.0": ["a"], "sentiment.train.0": ["a"], "train.1": ["b"]}, "both sentiment.train.0 and train.0"),
        ({"train.0": ["", " "], "train.1": [""]}, "empty after skipping 3 blank"),
        ({"train.0": ["a"], "train.1": [""]}, "no sentences labelled 'positive'"),
        ({"train.0": ["a"], "train.1": ["b"], "dev.0": ["c"], "dev.1": []},
         r"dev\.1 has no sentences labelled 'positive' .*every split needs every label"),
        ({"train.0": ["a"], "train.1": ["b"], "test.0": ["", "  "], "test.1": ["d"]},
         r"test\.0 has no sentences labelled 'negative' after skipping blank"),
        ({"train.0": ["a"], "train.1": ["b"], "labels.json": ['{"0": "x"}']}, "labels.json must map every label"),
    ],
)
def test_bad_release_directories_raise_one_clear_error(tmp_path, files, message):
    directory = write(tmp_path / "bad", files)
    with pytest.raises(TextvaeError, match=message) as error:
        load_corpus(str(directory))
    assert str(directory) in str(error.value) and "\n" not in str(error.value)


def test_a_folder_with_only_a_test_split_loads_that_split(tmp_path):
    directory = write(tmp_path / "held_out", {"test.0": ["the soup was cold ."], "test.1": ["great tea ."]})
    corpus = load_corpus(str(directory), splits=("test",))
    assert corpus.texts("test") == ["the soup was cold .", "great tea ."] and corpus.labels("test") == [0, 1]
    with pytest.raises(TextvaeError, match="has no train files"):
        load_corpus(str(directory))  # training needs train
    with pytest.raises(TextvaeError, match="has no dev files"):
        load_corpus(str(directory), splits=("dev",))


def test_a_label_file_left_empty_by_max_tokens_is_an_error_in_any_split(tmp_path):
    directory = release(tmp_path / "c", extra={"dev.1": ["", "way " * 30]})
    with pytest.raises(TextvaeError) as error:
        load_corpus(str(directory), max_tokens=20)
    assert f"{directory / 'dev.1'} has no sentences labelled 'positive'" in str(error.value)
    kept = load_corpus(str(release(tmp_path / "ok", extra={"dev.1": ["", "way " * 30, "fine ."]})), max_tokens=20)
    assert kept.texts("dev") == [TRAIN_0[0], "fine ."] and kept.skipped == {"blank": 1, "too_long": 1}


def test_non_utf8_file_names_file_line_and_fix(tmp_path):
    directory = write(tmp_path / "c", {"train.0": b"ok\nfine\ncaf\xe9 au lait\n", "train.1": ["b"]})
    with pytest.raises(TextvaeError) as error:
        load_corpus(str(directory))
    message = str(error.value)
    assert str(directory / "train.0") in message and "line 3" in message and "iconv -f latin1 -t utf-8" in message


def test_missing_paths_and_unknown_things(tmp_path, monkeypatch):
    with pytest.raises(TextvaeError, match="does not exist"):
        load_corpus(str(tmp_path / "nowhere"))
    with pytest.raises(TextvaeError, match="textvae data fetch yelp"):
        load_corpus("yelp")
    text_file = write(tmp_path, {"notes.txt": ["x"]}) / "notes.txt"
    with pytest.raises(TextvaeError, match="notes.txt is neither a corpus directory"):
        load_corpus(str(text_file))
    with pytest.raises(TextvaeError, match="unknown split 'validation'"):
        load_corpus("synthetic:10", splits=("validation",))


def test_table_files_csv_tsv_jsonl_with_string_and_int_labels(tmp_path):
    csv = write(tmp_path, {"r.csv": ["text,label", "great pizza,positive", "cold soup,negative", '"a, b",positive']})
    corpus = load_corpus(str(csv / "r.csv"))
    assert corpus.splits == ["train"] and corpus.label_names == ["negative", "positive"]
    assert sorted(zip(corpus.texts("train"), corpus.labels("train"))) == [("a, b", 1), ("cold soup", 0), ("great pizza", 1)]
    tsv = write(tmp_path, {"r.tsv": ["sentence\tstyle", "hello there\t0", "good bye\t1"]})
    corpus = load_corpus(str(tsv / "r.tsv"), text_column="sentence", label_column="style")
    assert corpus.label_names == ["negative", "positive"]
    rows = [{"text": "thou art", "label": "shakespeare"}, {"text": "you are", "label": "modern"}]
    jsonl = write(tmp_path, {"r.jsonl": [json.dumps(row) for row in rows]})
    corpus = load_corpus(str(jsonl / "r.jsonl"), label_names=["shakespeare", "modern"])
    assert corpus.label_names == ["shakespeare", "modern"]
    assert dict(zip(corpus.texts("train"), corpus.labels("train"))) == {"thou art": 0, "you are": 1}


def test_table_directory_splits_and_missing_column(tmp_path):
    directory = write(tmp_path / "t", {
        "train.csv": ["text,label", "a,1", "b,2", "c,3"],
        "dev.csv": ["text,label", "d,2"],
    })
    corpus = load_corpus(str(directory))
    assert corpus.splits == ["train", "dev"] and corpus.label_names == ["1", "2", "3"]
    assert corpus.labels("dev") == [1]
    write(directory, {"test.csv": ["text,label", "e,9"]})
    with pytest.raises(TextvaeError, match="test.csv has label '9' that train lacks"):
        load_corpus(str(directory))
    with pytest.raises(TextvaeError, match=r"train.csv has no 'sentence' column \(it has text, label\)"):
        load_corpus(str(directory), text_column="sentence")


def test_fingerprint_is_stable_and_content_sensitive(tmp_path):
    first = load_corpus(str(release(tmp_path / "a")))
    assert first.fingerprint == load_corpus(str(release(tmp_path / "b"))).fingerprint
    assert len(first.fingerprint) == 64
    changed = release(tmp_path / "c", extra={"dev.1": ["great pizza ?"]})
    assert load_corpus(str(changed)).fingerprint != first.fingerprint
    relabelled = load_corpus(str(release(tmp_path / "a")), label_names=["neg", "pos"])
    assert relabelled.fingerprint != first.fingerprint
    swapped = release(tmp_path / "d", extra={"dev.0": TRAIN_1[:1], "dev.1": TRAIN_0[:1]})
    assert load_corpus(str(swapped)).fingerprint != first.fingerprint


def test_synthetic_source(tmp_path):
    corpus = load_corpus("synthetic:200")
    assert corpus.label_names == ["negative", "positive"]
    assert len(corpus.datasets["train"]) == 200 and len(corpus.datasets["test"]) == 1000
    assert load_corpus("synthetic", synthetic_size=200, splits=("train",)).fingerprint != corpus.fingerprint
    assert load_corpus("synthetic:200").fingerprint == corpus.fingerprint
    with pytest.raises(TextvaeError, match="bad synthetic size 'lots'"):
        load_corpus("synthetic:lots")


def test_split_selection_and_unknown_split_access(tmp_path):
    corpus = load_corpus(str(release(tmp_path / "c")), splits=("train", "test"))
    assert corpus.splits == ["train", "test"]
    with pytest.raises(TextvaeError, match="has no 'dev' split \\(it has train, test\\)"):
        corpus.texts("dev")


def test_hub_dataset_maps_validation_to_dev_and_keeps_class_names(monkeypatch):
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    table = {"sentence": ["bad", "good", "fine"], "label": [0, 1, 1]}
    hub = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(table, features=features),
        "validation": datasets.Dataset.from_dict({"sentence": ["meh"], "label": [0]}, features=features),
        "unsupervised": datasets.Dataset.from_dict({"sentence": ["?"], "label": [0]}, features=features),
    })
    monkeypatch.setattr(corpus_module.datasets, "load_dataset", lambda name: hub)
    corpus = load_corpus("someone/reviews", text_column="sentence")
    assert corpus.splits == ["train", "dev"] and corpus.label_names == ["neg", "pos"]
    assert corpus.labels("train") == [0, 1, 1] and corpus.texts("dev") == ["meh"]


def test_unreachable_hub_dataset_is_a_clear_error(monkeypatch):
    def offline(name):
        raise ConnectionError("no network")

    monkeypatch.setattr(corpus_module.datasets, "load_dataset", offline)
    with pytest.raises(TextvaeError, match="'someone/reviews' is neither a local path nor a reachable"):
        load_corpus("someone/reviews")


def test_stats_counts_shares_lengths_and_vocabulary(tmp_path):
    directory = release(tmp_path / "c", extra={"train.0": ["", "the soup was cold .", "rude staff ."]})
    stats = corpus_stats(load_corpus(str(directory)))
    train = stats["splits"]["train"]
    assert train["sentences"] == 5
    assert train["labels"]["positive"] == {"count": 3, "share": 0.6}
    assert train["length"] == {"p50": 4, "p90": 5, "p95": 5, "p99": 5, "max": 5}
    assert train["vocabulary"] == len({w for line in TRAIN_0 + TRAIN_1 for w in line.split()})
    assert "vocabulary" not in stats["splits"]["dev"] and stats["skipped"]["blank"] == 1
    text = format_stats(stats)
    assert "3 (60.0%)" in text and "1 blank" in text and text.splitlines()[2].split()[1] == "split"
