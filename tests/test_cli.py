import io
import json
import os
import shutil
import subprocess
import sys

import pytest

import textvae
from textvae.cli import main
from textvae.errors import TextvaeError
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
    (["evaluate", "vae", "--model", "x"], "model directory x does not exist"),
    (["evaluate", "transfer"], "required: --data, --outputs"),
    (["report", "interpolate"], "required: --model, --pairs"),
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
    lines = out.read_text().splitlines()  # line i answers line i: the blank line stays blank
    assert len(lines) == 3 and lines[1] == "" and lines[0] and lines[2]
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


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("textvae: error:") and len(err.splitlines()) == 1, err
    return err


def _edit_config(**changes):
    def edit(folder):
        meta = json.loads((folder / "config.json").read_text())
        for key, value in changes.items():
            if value is None:
                del meta[key]
            else:
                meta[key] = value
        (folder / "config.json").write_text(json.dumps(meta))
    return edit


def _newer_textvae(folder):
    meta = json.loads((folder / "config.json").read_text())
    meta["textvae_version"] = "9.0.0"
    meta["config"]["model"]["new_feature"] = True
    (folder / "config.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, names, message", [
    (lambda f: (f / "model.safetensors").write_bytes(b"not safetensors"), "model.safetensors", "cannot load weights"),
    (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:100]),
     "model.safetensors", "cannot load weights"),
    (lambda f: (f / "tokenizer.model").write_bytes(b"not a model"), "tokenizer.model", "is corrupt"),
    (_edit_config(config=None), "config.json", "no valid 'config' entry"),
    (_edit_config(label_names=None), "config.json", "no valid 'label_names' entry"),
    (_newer_textvae, "", f"was written by textvae 9.0.0 and this is textvae {textvae.__version__}"),
])
def test_broken_model_folder_is_a_one_line_error(trained, tmp_path, capsys, damage, names, message):
    folder = tmp_path / "model"
    shutil.copytree(trained / "model", folder)
    damage(folder)
    assert main(["reconstruct", "--model", str(folder), "--input", os.devnull]) == 2
    err = one_line_error(capsys)
    assert message in err and str(folder / names) in err


def test_corrupt_trainer_state_stops_resume_with_one_line(trained, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "checkpoint" / "trainer_state.pt").write_bytes(b"garbage" * 10)
    assert main(["train", RECIPE, "--out", str(run), "--resume", *TINY, "train.max_steps=6"]) == 2
    err = one_line_error(capsys)
    assert f"cannot read {run / 'checkpoint' / 'trainer_state.pt'}" in err and "corrupt" in err


def test_standard_input_is_read_as_strict_utf8(trained, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("the food was great .\ncafé .\n".encode())))
    assert main(["reconstruct", "--model", str(trained), "--device", "cpu"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"fine\ncaf\xe9 au lait\n")))
    assert main(["reconstruct", "--model", str(trained), "--device", "cpu"]) == 2
    assert "standard input is not valid UTF-8 (line 2)" in one_line_error(capsys)


def test_directories_are_refused_as_input_and_output(trained, tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert main(["reconstruct", "--model", str(trained), "--input", str(folder)]) == 2
    assert f"--input {folder} is a directory, not a file" in one_line_error(capsys)
    for force in ([], ["--force"]):
        argv = ["reconstruct", "--model", str(trained), "--input", os.devnull, "--output", str(folder), *force]
        assert main(argv) == 2
        assert f"output {folder} is a directory" in one_line_error(capsys)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_unusable_devices_are_one_line_errors(trained, monkeypatch, capsys):
    assert main(["reconstruct", "--model", str(trained), "--input", os.devnull, "--device", "foo"]) == 2
    assert "--device foo: unknown device" in one_line_error(capsys)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert main(["reconstruct", "--model", str(trained), "--input", os.devnull, "--device", "cuda"]) == 2
    assert "--device cuda: CUDA is not available on this machine" in one_line_error(capsys)
    with pytest.raises(TextvaeError, match="--device cuda:1: CUDA is not available"):
        textvae.load(trained, device="cuda:1")


def test_evaluate_vae_refuses_to_overwrite_its_default_output_before_any_work(trained, tmp_path, monkeypatch,
                                                                              capsys):
    model = tmp_path / "model"
    shutil.copytree(trained / "model", model)
    default = model / "eval_vae_dev.json"
    default.write_text("earlier results")
    quick = ["evaluate", "vae", "--model", str(model), "--split", "dev", "--samples", "2", "--max-sentences", "4",
             "--device", "cpu"]
    with monkeypatch.context() as patch:
        patch.setattr(textvae, "load", lambda *a, **k: pytest.fail("loaded the model before checking the output"))
        assert main(quick) == 2
    assert f"{default} already exists; pass --force" in one_line_error(capsys)
    assert default.read_text() == "earlier results"
    assert main(quick + ["--output", str(tmp_path)]) == 2
    assert f"output {tmp_path} is a directory" in one_line_error(capsys)
    assert main(quick + ["--force", "--format", "json"]) == 0
    assert json.loads(default.read_text())["split"] == "dev"


def test_transfer_interactive_explains_what_it_needs(trained, capsys):
    assert main(["transfer", "--model", str(trained), "--interactive", "--device", "cpu"]) == 2
    assert "cannot transfer" in one_line_error(capsys)


def test_evaluate_and_report_list_their_verbs(capsys):
    for command, verbs in (("evaluate", "vae transfer"), ("report", "interpolate arithmetic traverse samples latent")):
        assert main([command]) == 2
        listed = capsys.readouterr().out
        assert all(verb in listed for verb in verbs.split())


def test_benchmark_scripts_report_bad_input_in_one_line(capsys):
    from textvae.errors import TextvaeError, run_script

    def main():
        raise TextvaeError("model directory /nowhere does not exist")

    with pytest.raises(SystemExit) as stopped:
        run_script(main)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith("error: model directory /nowhere does not exist")
