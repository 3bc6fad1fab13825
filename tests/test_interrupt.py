"""Issue 27 (2, 3): one training per run directory, and Ctrl-C / SIGTERM save a checkpoint to
resume from; a run directory without a checkpoint resumes from step 0."""

import os
import shutil
import signal
import subprocess
import sys
import time

from textvae.cli import main

from tests.conftest import TINY

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")


def test_a_second_training_of_a_run_directory_is_refused_and_a_stale_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    lock = tmp_path / ".run.lock"
    holder = ("import fcntl, os, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
              "f.truncate(0); f.write(str(os.getpid())); f.flush(); print('locked', flush=True); time.sleep(60)")
    sleeper = subprocess.Popen([sys.executable, "-c", holder, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert sleeper.stdout.readline().strip() == "locked"  # another training holds the directory
        assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=2"]) == 2
        assert f"another training (PID {sleeper.pid}) is writing" in capsys.readouterr().err
        assert not out.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the lock's process is gone (killed): the next training takes it over, and removes it at the end
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=2"]) == 0
    assert not (tmp_path / ".run.lock").exists()


def test_sigint_finishes_the_step_saves_and_exits_130_then_resume_goes_on(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "textvae", "train", RECIPE, "--out", str(out), *TINY,
                             "train.max_steps=100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    state = out / "checkpoint" / "trainer_state.pt"
    while time.time() < deadline and not state.is_file():  # TINY checkpoints every few steps
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "--resume" in err and (out / "checkpoint" / "model.safetensors").is_file()
    assert (out / "model" / "config.json").is_file()
    import torch

    step = torch.load(out / "checkpoint" / "trainer_state.pt", weights_only=False)["state"]["step"]
    assert step >= 3
    # one thread everywhere, as in the interrupted process: a 2-thread matmul sums in another order on
    # some CPUs (AVX2), and this compares bits
    one = "train.threads=1"
    assert main(["train", RECIPE, "--out", str(out), "--resume", *TINY, one, f"train.max_steps={step + 2}"]) == 0
    assert torch.load(out / "checkpoint" / "trainer_state.pt", weights_only=False)["state"]["step"] == step + 2
    # the same weights as a run that was never interrupted
    straight = tmp_path / "straight"
    assert main(["train", RECIPE, "--out", str(straight), *TINY, one, f"train.max_steps={step + 2}"]) == 0
    from tests.test_training import _assert_same_state

    _assert_same_state(straight, out)


def test_a_run_directory_without_a_checkpoint_resumes_from_step_0(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=2"]) == 0
    shutil.rmtree(out / "checkpoint")
    assert main(["train", RECIPE, "--out", str(out), "--resume", *TINY, "train.max_steps=2"]) == 0
    assert (out / "checkpoint" / "model.safetensors").is_file()
