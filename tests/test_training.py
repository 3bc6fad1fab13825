import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from textvae.data.batching import BatchSchedule, collate
from textvae.errors import TextvaeError
from textvae.training import Trainer, train
from textvae.training.checkpoint import load_trainer_state
from textvae.training.logging import read_metrics


def _weights(run):
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def _assert_same_state(a, b, exact=True):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        if exact:
            assert torch.equal(wa[key], wb[key]), key
        else:
            assert torch.allclose(wa[key], wb[key], atol=1e-5, rtol=1e-4), key
    sa, sb = load_trainer_state(a / "checkpoint"), load_trainer_state(b / "checkpoint")
    assert sa["state"]["step"] == sb["state"]["step"]
    for oa, ob in zip(sa["optimizers"], sb["optimizers"]):
        for pid, state in oa["state"].items():
            for name, value in state.items():
                other = ob["state"][pid][name]
                assert (torch.equal(value, other) if exact else torch.allclose(value, other, atol=1e-5, rtol=1e-3))


def test_training_learns_and_writes_a_complete_run(tiny_config, tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config("train.max_steps=20", "train.lr=0.01"), out)
    assert result["step"] == 20 and result["stopped"] == "max_steps"
    for name in ("recipe.yaml", "metrics.jsonl", "result.json", "model/config.json", "model/model.safetensors",
                 "model/tokenizer.model", "checkpoint/trainer_state.pt"):
        assert (out / name).is_file(), name
    records = read_metrics(out / "metrics.jsonl")
    dev_losses = [r["loss"] for r in records if r["split"] == "dev"]
    assert dev_losses == sorted(dev_losses, reverse=True) and dev_losses[-1] < 0.85 * dev_losses[0]
    assert [r["step"] for r in records if r["split"] == "dev"] == [5, 10, 15, 20]
    meta = json.loads((out / "model" / "config.json").read_text())
    assert meta["label_names"] == ["negative", "positive"] and meta["format_version"] == 2


def test_resume_continues_exactly(tiny_config, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny_config("train.max_steps=10", "model.noise.word_dropout=0.1", "model.dropout=0.1"), straight)
    train(tiny_config("train.max_steps=5", "model.noise.word_dropout=0.1", "model.dropout=0.1"), split)
    result = train(tiny_config("train.max_steps=10", "model.noise.word_dropout=0.1", "model.dropout=0.1"),
                   split, resume=True)
    assert result["step"] == 10
    _assert_same_state(straight, split)
    steps = [r["step"] for r in read_metrics(split / "metrics.jsonl") if r["split"] == "train"]
    assert steps == list(range(1, 11))


def test_killed_run_resumes_from_its_last_checkpoint(tiny_config, tmp_path):
    run = tmp_path / "killed"
    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    from tests.conftest import TINY

    cmd = [sys.executable, "-m", "textvae", "train", recipe, "--out", str(run), *TINY,
           "train.max_steps=100000", "train.checkpoint_every=3", "train.eval_every=1000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            state = run / "checkpoint" / "trainer_state.pt"
            if state.is_file() and load_trainer_state(run / "checkpoint")["state"]["step"] >= 6:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint appeared")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = load_trainer_state(run / "checkpoint")["state"]["step"]
    target = saved + 3
    overrides = [f"train.max_steps={target}", "train.checkpoint_every=3", "train.eval_every=1000"]
    result = train(tiny_config(*overrides), run, resume=True)
    assert result["step"] == target
    straight = tmp_path / "straight"
    train(tiny_config(*overrides), straight)
    _assert_same_state(straight, run)


def test_existing_run_needs_force_or_resume(tiny_config, tmp_path):
    out = tmp_path / "run"
    train(tiny_config("train.max_steps=2"), out)
    with pytest.raises(TextvaeError, match="--resume.*--force"):
        train(tiny_config("train.max_steps=2"), out)
    with pytest.raises(TextvaeError, match="'model.latent.dim' is 4 here but 16"):
        train(tiny_config("train.max_steps=4", "model.latent.dim=4"), out, resume=True)
    assert train(tiny_config("train.max_steps=3"), out, force=True)["step"] == 3
    with pytest.raises(TextvaeError, match="not a textvae run directory"):
        train(tiny_config("train.max_steps=2"), tmp_path / "fresh", resume=True)


def test_early_stopping_keeps_the_best_model(tiny_config, tmp_path):
    result = train(tiny_config("train.max_steps=50", "train.lr=0", "train.early_stopping.patience=1"),
                   tmp_path / "run")
    assert result["stopped"] == "early_stopping"
    assert result["step"] == 10 and result["best_step"] == 5


def test_time_budget_stops_cleanly(tiny_config, tmp_path):
    result = train(tiny_config("train.max_steps=10000", "train.max_minutes=0.0001"), tmp_path / "run")
    assert result["stopped"] == "max_minutes" and result["step"] == 1
    assert (tmp_path / "run" / "checkpoint" / "trainer_state.pt").is_file()
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


class TwoPlayer(torch.nn.Module):
    """A toy model with a main part and a discriminator on its own optimizer."""

    def __init__(self):
        super().__init__()
        self.main = torch.nn.Linear(3, 1)
        self.disc = torch.nn.Linear(3, 1)

    def set_step(self, step):
        pass

    def forward(self, batch):
        x = batch.src.float()[:, :3]
        return {"loss": (self.main(x) - 1).pow(2).mean(), "disc_loss": (self.disc(x) + 1).pow(2).mean()}

    def optimizer_groups(self):
        return [{"name": "main", "params": list(self.main.parameters()), "loss": "loss"},
                {"name": "disc", "params": list(self.disc.parameters()), "loss": "disc_loss", "lr": 0.0}]


def test_several_optimizers_each_minimise_their_loss(tmp_path):
    from textvae.config import TrainConfig

    seqs = [[4 + i, 5 + i, 6 + i] for i in range(8)]
    model = TwoPlayer()
    disc_before = model.disc.weight.detach().clone()
    config = TrainConfig(max_steps=30, lr=0.05, eval_every=100, checkpoint_every=100, log_every=10)
    saved = []
    trainer = Trainer(model, config, BatchSchedule([3] * 8, 64, 4, seed=0),
                      lambda idx: collate([seqs[i] for i in idx]), tmp_path, lambda p, s: saved.append(p))
    assert len(trainer.optimizers) == 2
    trainer.fit()
    assert torch.equal(model.disc.weight, disc_before)  # its own optimizer, with lr 0
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert records[-1]["loss"] < records[0]["loss"]
    assert "grad_norm_disc" in records[0]


def test_ddp_under_torchrun_matches_single_process(tiny_config, tmp_path):
    from tests.conftest import TINY

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml")
    common = [*TINY, "train.max_steps=4", "train.eval_every=1000", "train.threads=1", "train.device=cpu"]
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "textvae", "train", recipe, "--out", str(ddp), *common],
                   check=True, env=env, capture_output=True, timeout=300)
    train(tiny_config("train.max_steps=4", "train.eval_every=1000", "train.grad_accum=2", "train.device=cpu"), single)
    assert json.loads((ddp / "result.json").read_text())["world_size"] == 2
    _assert_same_state(ddp, single, exact=False)


def test_bf16_autocast_trains_on_cpu(tiny_config, tmp_path):
    result = train(tiny_config("train.max_steps=10", "train.amp=bf16", "train.lr=0.01"), tmp_path / "run")
    dev = [r["loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["split"] == "dev"]
    assert result["step"] == 10 and dev[-1] < dev[0]


def test_auto_precision_is_bf16_only_on_cpus_with_native_bf16(tiny_config, tmp_path, monkeypatch):
    from textvae.training import trainer

    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: True)
    assert trainer.amp_dtype("auto", cpu) == torch.bfloat16 and trainer.amp_dtype("off", cpu) is None
    train(tiny_config("train.max_steps=2"), tmp_path / "run")
    assert json.loads((tmp_path / "run" / "model" / "config.json").read_text())["stats"]["precision"] == "bfloat16"
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: False)
    assert trainer.amp_dtype("auto", cpu) is None and trainer.amp_dtype("bf16", cpu) == torch.bfloat16


def test_tensorboard_receives_scalars_when_installed(tmp_path, monkeypatch):
    import types

    calls = []

    class FakeWriter:
        def __init__(self, log_dir):
            calls.append(("dir", log_dir))

        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

        def close(self):
            calls.append(("closed",))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter))
    from textvae.training.logging import MetricLogger

    logger = MetricLogger(tmp_path)
    assert calls == []  # nothing in the run directory before the first record (a run may still fail its checks)
    logger.log("dev", 7, 0, 1.0, {"loss": 2.5})
    logger.close()
    assert ("dev/loss", 2.5, 7) in calls and calls[-1] == ("closed",)
    assert read_metrics(tmp_path / "metrics.jsonl")[0]["loss"] == 2.5


def test_force_never_deletes_what_is_not_a_run(tiny_config, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(TextvaeError, match="not a textvae run directory"):
        train(tiny_config("train.max_steps=2"), precious, force=True)
    assert (precious / "notes.txt").read_text() == "mine"


def test_bad_input_fails_before_the_run_directory_is_touched(tiny_config, tmp_path):
    out = tmp_path / "run"
    train(tiny_config("train.max_steps=2"), out)
    before = (out / "model" / "model.safetensors").read_bytes()
    cases = [
        (("data.path=/nonexistent/corpus",), "/nonexistent/corpus"),
        (("train.early_stopping.metric=recon_accuracy",), "choose one of: .*recon_acc"),
        (("train.max_steps=null", "train.max_minutes=null"), "never stops"),
        (("train.device=banana",), "not a device"),
    ]
    for overrides, pattern in cases:
        with pytest.raises(TextvaeError, match=pattern):
            train(tiny_config(*overrides), out, force=True)
        assert (out / "model" / "model.safetensors").read_bytes() == before


def test_early_stopping_needs_a_dev_split(tiny_config, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for label, word in (("0", "bad"), ("1", "good")):
        (corpus / f"train.{label}").write_text("".join(f"the food {i} was {word} .\n" for i in range(30)))
    with pytest.raises(TextvaeError, match="no dev split"):
        train(tiny_config(f"data.path={corpus}", "train.max_steps=2"), tmp_path / "run")
    assert not (tmp_path / "run").exists()
    result = train(tiny_config(f"data.path={corpus}", "train.max_steps=2", "train.early_stopping.metric=null"),
                   tmp_path / "run")
    assert result["step"] == 2 and (tmp_path / "run" / "model" / "config.json").is_file()


@pytest.mark.parametrize("override, pattern", [
    ("train.grad_accum=0", "train.grad_accum' must be at least 1"),
    ("train.eval_every=0", "train.eval_every' must be at least 1"),
    ("train.eval_max_sentences=-1", "train.eval_max_sentences' must be at least 1"),
    ("train.max_minutes=0", "train.max_minutes' must be positive"),
])
def test_bad_train_settings_fail_at_config_time(tiny_config, override, pattern):
    with pytest.raises(TextvaeError, match=pattern):
        tiny_config(override)


def test_resume_refuses_changed_batches_and_a_spent_budget(tiny_config, tmp_path):
    out = tmp_path / "run"
    train(tiny_config("train.max_steps=3"), out)
    with pytest.raises(TextvaeError, match="'seed' is 5 here"):
        train(tiny_config("train.max_steps=6", "seed=5"), out, resume=True)
    with pytest.raises(TextvaeError, match="'train.max_sentences'"):
        train(tiny_config("train.max_steps=6", "train.max_sentences=8"), out, resume=True)
    with pytest.raises(TextvaeError, match="'train.batching' is 'random' here but 'length'"):
        train(tiny_config("train.max_steps=6", "train.batching=random"), out, resume=True)
    with pytest.raises(TextvaeError, match="time budget"):
        train(tiny_config("train.max_steps=6", "train.max_minutes=0.00001"), out, resume=True)


def test_random_batches_reach_the_schedule_and_resume_exactly(tiny_config, tmp_path, monkeypatch):
    import textvae.training.run as run

    seen = []
    monkeypatch.setattr(run, "BatchSchedule", lambda *a, **k: seen.append(k["by_length"]) or BatchSchedule(*a, **k))
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny_config("train.max_steps=6", "train.batching=random"), straight)
    train(tiny_config("train.max_steps=3", "train.batching=random"), split)
    train(tiny_config("train.max_steps=6", "train.batching=random"), split, resume=True)
    assert seen == [False, False, False]
    _assert_same_state(straight, split)
    with pytest.raises(TextvaeError, match="train.batching"):
        tiny_config("train.batching=shuffled")


def test_resume_recovers_an_interrupted_checkpoint_swap(tiny_config, tmp_path):
    out = tmp_path / "run"
    train(tiny_config("train.max_steps=3"), out)
    (out / "checkpoint").rename(out / ".checkpoint.old")  # killed between the two renames
    (out / ".metrics.jsonl.abc.tmp").write_text("half")
    with open(out / "metrics.jsonl", "a") as handle:
        handle.write('{"split": "train", "st')  # a torn last line
    assert train(tiny_config("train.max_steps=5"), out, resume=True)["step"] == 5
    assert not (out / ".metrics.jsonl.abc.tmp").exists()
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["split"] == "train"] == [1, 2, 3, 4, 5]


def test_train_threads_hold_for_the_run_only(tiny_config, tmp_path):
    before = torch.get_num_threads()
    train(tiny_config("train.max_steps=1", "train.threads=1"), tmp_path / "run")
    assert torch.get_num_threads() == before


def test_weights_in_one_flat_buffer_save_and_ties_survive(tiny_config, tmp_path):
    """cuDNN keeps an RNN's weights as views of one flat buffer, which safetensors' save_model
    refuses; a model trained on a GPU must still save, and tied weights stay tied."""
    from textvae.modeldir import load_model_dir, save_model_dir

    train(tiny_config("train.max_steps=2", "model.decoder.tie_embeddings=true"), tmp_path / "run")
    bundle = load_model_dir(tmp_path / "run" / "model")
    rnn = bundle.model.decoder.rnn
    flat = torch.cat([p.detach().reshape(-1) for p in rnn.parameters()])
    offset = 0
    for p in rnn.parameters():  # as cuDNN's flatten_parameters leaves them
        p.data = flat[offset:offset + p.numel()].view_as(p)
        offset += p.numel()
    assert len({p.untyped_storage().data_ptr() for p in rnn.parameters()}) == 1
    save_model_dir(tmp_path / "copy", bundle.model, bundle.config, bundle.tokenizer, bundle.label_names)
    again = load_model_dir(tmp_path / "copy")
    before, after = bundle.model.state_dict(), again.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert again.model.decoder.out.weight is again.model.decoder.embedding.weight


def test_more_local_ranks_than_gpus_falls_back_or_fails_clearly(monkeypatch):
    """NCCL cannot put two ranks on one GPU: ``auto`` trains on the CPU, ``cuda`` says why it cannot."""
    from textvae.training.distributed import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(TextvaeError, match="one process per GPU"):
        pick_device("cuda")
    assert pick_device("cuda:0") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert pick_device("auto") == torch.device("cuda", 0)
