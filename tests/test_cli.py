import json
import os
import subprocess
import sys

import pytest

import textvae
from textvae.cli import main
from tests.conftest import TINY

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=6"]) == 0
    return out


def test_help_lists_the_verbs():
    proc = subprocess.run([sys.executable, "-m", "textvae", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for verb in ("data", "train", "transfer", "evaluate", "report"):
        assert verb in proc.stdout


def test_train_prints_a_summary(trained, capsys):
    meta = json.loads((trained / "model" / "config.json").read_text())
    assert meta["config"]["train"]["max_steps"] == 6
    assert (trained / "recipe.yaml").read_text().startswith("name: synthetic_ae")


@pytest.mark.parametrize("argv, message", [
    (["train", RECIPE, "train.nope=1"], "unknown recipe key 'train.nope'"),
    (["train", RECIPE, "train.max_steps=abc"], "train.max_steps"),
    (["train", "missing.yaml"], "missing.yaml does not exist"),
    (["train", RECIPE, "--data-dir", "/nonexistent/corpus"], "/nonexistent/corpus"),
    (["evaluate", "vae", "--model", "x"], "not in textvae"),
    (["report", "interpolate"], "not in textvae"),
    (["data", "stats", "/nonexistent/dir"], "/nonexistent/dir"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert not (tmp_path / "runs").exists()  # nothing half-written
    err = capsys.readouterr().err.strip()
    assert err.startswith("textvae: error:") and message in err
    assert len(err.splitlines()) == 1


def test_existing_run_directory_is_not_overwritten(trained, capsys):
    before = (trained / "model" / "model.safetensors").read_bytes()
    assert main(["train", RECIPE, "--out", str(trained), *TINY, "train.max_steps=1"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (trained / "model" / "model.safetensors").read_bytes() == before


def test_reconstruct_and_output_protection(trained, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("the food was great .\n\nthe staff is rude .\n")
    out = tmp_path / "out.txt"
    assert main(["reconstruct", "--model", str(trained), "--input", str(src), "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2
    assert main(["reconstruct", "--model", str(trained), "--input", str(src), "--output", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["reconstruct", "--model", str(trained), "--input", str(src), "--output", str(out), "--force"]) == 0


def test_transfer_explains_what_it_needs(trained, capsys):
    assert main(["transfer", "--model", str(trained), "--to", "positive", "--input", os.devnull]) == 2
    assert "cannot transfer" in capsys.readouterr().err
    assert main(["transfer", "--model", str(trained), "--to", "happy", "--input", os.devnull]) == 2
    assert "unknown style 'happy'" in capsys.readouterr().err


def test_python_api_loads_a_run_directory(trained):
    model = textvae.load(trained, device="cpu")
    assert model.label_names == ["negative", "positive"]
    codes = model.encode(["the food was great .", "the staff is rude ."])
    assert codes.shape == (2, 16)
    assert len(model.reconstruct(["the food was great ."])) == 1


def test_incompatible_checkpoint_version_is_refused(trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(trained / "model", copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["format_version"] = 99
    (copy / "config.json").write_text(json.dumps(meta))
    assert main(["reconstruct", "--model", str(copy), "--input", os.devnull]) == 2
    assert "format version 99" in capsys.readouterr().err
    assert main(["reconstruct", "--model", str(tmp_path), "--input", os.devnull]) == 2
    assert "not a textvae model directory" in capsys.readouterr().err


def test_data_synthetic_and_stats_round_trip(tmp_path, capsys):
    dest = tmp_path / "synth"
    assert main(["data", "synthetic", "--dest", str(dest), "--train", "200", "--dev", "20", "--test", "20"]) == 0
    capsys.readouterr()
    assert main(["data", "stats", str(dest), "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert json.dumps(stats).count("200") >= 1
    assert main(["data", "synthetic", "--dest", str(dest)]) == 2
