"""Fetching the public corpora: copy from a local release, checksums, offline errors."""

import copy
import hashlib
import io
import json
import logging
import urllib.error

import pytest

from textvae.data import fetch as fetch_module
from textvae.data.corpus import load_corpus
from textvae.data.fetch import fetch
from textvae.data.sources import known_sources, load_manifest
from textvae.errors import TextvaeError
from textvae.io import sha256_file

LINES = {0: ["the soup was cold .", "rude staff ."], 1: ["great pizza !", "i love it ."]}
REWRITES = {0: ["the soup was hot .", "kind staff ."], 1: ["awful pizza !", "i hate it ."]}


def make_release(directory, naming="release", references=True):
    directory.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        for label, lines in LINES.items():
            name = f"sentiment.{split}.{label}" if naming == "release" else f"{split}.{label}"
            (directory / name).write_text("".join(f"{line}\n" for line in lines))
    if references:
        for label in LINES:
            rows = [f"{src}\t{dst}" for src, dst in zip(LINES[label], REWRITES[label])]
            name = f"reference.{label}" if naming == "release" else f"reference.test.{label}"
            (directory / name).write_text("".join(f"{row}\n" for row in rows))
    return directory


def with_checksums(monkeypatch, checksums):
    manifest = copy.deepcopy(load_manifest())
    for entry in manifest["sources"]["yelp"]["files"]:
        entry["sha256"] = checksums.get(entry["name"], entry["sha256"])
    monkeypatch.setattr(fetch_module, "load_manifest", lambda: manifest)


def test_manifest_lists_release_urls_for_both_corpora():
    manifest = load_manifest()
    assert known_sources() == ["amazon", "yelp"] and "sha256" in manifest["note"]
    for name in known_sources():
        files = manifest["sources"][name]["files"]
        assert sorted(f["name"] for f in files) == sorted(
            [f"{s}.{l}" for s in ("train", "dev", "test") for l in (0, 1)] + ["reference.test.0", "reference.test.1"]
        )
        assert all(f["url"].startswith(
            f"https://raw.githubusercontent.com/lijuncen/Sentiment-and-Style-Transfer/master/data/{name}/") for f in files)
        assert all("sha256" in f for f in files)


def test_fetch_from_release_naming_round_trip(tmp_path):
    dest = fetch("yelp", tmp_path / "yelp", from_dir=make_release(tmp_path / "release"))
    assert (dest / "train.0").read_text() == "the soup was cold .\nrude staff .\n"
    assert (dest / "reference.test.1").read_text().splitlines() == REWRITES[1]
    assert json.loads((dest / "labels.json").read_text()) == {"0": "negative", "1": "positive"}
    sums = dict(line.split("  ")[::-1] for line in (dest / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {p.name for p in dest.iterdir()} - {"SHA256SUMS"}
    assert all(sha256_file(dest / name) == digest for name, digest in sums.items())
    corpus = load_corpus(str(dest))
    assert corpus.label_names == ["negative", "positive"] and corpus.texts("test") == LINES[0] + LINES[1]


def test_fetch_from_our_naming_without_references(tmp_path):
    dest = fetch("amazon", tmp_path / "out", from_dir=make_release(tmp_path / "ours", naming="ours", references=False))
    assert not (dest / "reference.test.0").exists() and (dest / "dev.1").exists()


def test_checksums_are_verified_and_a_mismatch_leaves_nothing(tmp_path, monkeypatch):
    release = make_release(tmp_path / "release")
    good = sha256_file(release / "sentiment.train.0")
    with_checksums(monkeypatch, {"train.0": good})
    fetch("yelp", tmp_path / "ok", from_dir=release)
    with_checksums(monkeypatch, {"train.0": hashlib.sha256(b"something else").hexdigest()})
    with pytest.raises(TextvaeError, match=r"sentiment.train.0 has sha256 .* not .* manifest"):
        fetch("yelp", tmp_path / "bad", from_dir=release)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok", "release"]


class FakeResponse(io.BytesIO):
    headers = {}


def test_download_path_with_a_fake_server(tmp_path, monkeypatch):
    release = make_release(tmp_path / "release")
    served = []

    def urlopen(url, timeout):
        served.append(url)
        name = url.rsplit("/", 1)[-1]
        return FakeResponse((release / name).read_bytes())

    monkeypatch.setattr(fetch_module.urllib.request, "urlopen", urlopen)
    dest = fetch("yelp", tmp_path / "yelp")
    assert len(served) == 8 and (dest / "reference.test.0").read_text().splitlines() == REWRITES[0]
    assert load_corpus(str(dest)).texts("train") == LINES[0] + LINES[1]


def test_offline_download_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(fetch_module.urllib.request, "urlopen", offline)
    with pytest.raises(TextvaeError, match=r"could not download https://raw\.githubusercontent\.com/.*--from DIR"):
        fetch("yelp", tmp_path / "yelp")
    assert list(tmp_path.iterdir()) == []


def test_bad_requests(tmp_path):
    with pytest.raises(TextvaeError, match="unknown corpus 'imdb'; known corpora: amazon, yelp"):
        fetch("imdb", tmp_path / "x")
    with pytest.raises(TextvaeError, match="--from directory .*nowhere does not exist"):
        fetch("yelp", tmp_path / "x", from_dir=tmp_path / "nowhere")
    partial = make_release(tmp_path / "partial")
    (partial / "sentiment.dev.1").unlink()
    with pytest.raises(TextvaeError, match="has neither dev.1 nor sentiment.dev.1"):
        fetch("yelp", tmp_path / "x", from_dir=partial)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "mine").write_text("keep")
    with pytest.raises(TextvaeError, match="already exists; pass --force"):
        fetch("yelp", occupied, from_dir=make_release(tmp_path / "release"))
    fetch("yelp", occupied, from_dir=tmp_path / "release", force=True)
    assert not (occupied / "mine").exists() and (occupied / "train.1").exists()


def test_a_release_that_does_not_load_is_rejected(tmp_path):
    release = make_release(tmp_path / "release")
    (release / "sentiment.train.1").write_text("\n\n")
    named = r"does not load as a corpus: .*/release/sentiment\.train\.1 has no sentences labelled 'positive'"
    with pytest.raises(TextvaeError, match=named):
        fetch("yelp", tmp_path / "out", from_dir=release)
    assert not (tmp_path / "out").exists()


def test_unpinned_checksums_warn_once_and_pinned_ones_do_not(tmp_path, monkeypatch, caplog):
    release = make_release(tmp_path / "release")
    with caplog.at_level(logging.WARNING, logger="textvae"):
        dest = fetch("yelp", tmp_path / "unpinned", from_dir=release)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"checksums for yelp are not pinned yet; recorded the files' SHA-256 in {dest / 'SHA256SUMS'}; "
                        "compare them with a trusted copy"]
    caplog.clear()
    with_checksums(monkeypatch, {entry["name"]: sha256_file(release / entry["url"].rsplit("/", 1)[-1])
                                 for entry in load_manifest()["sources"]["yelp"]["files"]})
    with caplog.at_level(logging.WARNING, logger="textvae"):
        fetch("yelp", tmp_path / "pinned", from_dir=release)
    assert not caplog.records
