"""Training throughput of whole recipes on each device, and what a CPU budget is worth there (issue 28).

    python benchmarks/recipe_throughput.py [RECIPE ...] [--devices cpu,cuda] [--steps 300]
        [--compile] [--threads N] [--data ../shared/data/yelp]

Each recipe (default: the Yelp recipes the benchmark tables train, ``yelp_vae``, ``yelp_bnvae``,
``yelp_ibt_gru``, ``yelp_ibt_transformer``, ``yelp_melnyk``) trains ``--steps`` steps on each device
with the recipe's own batches and ``train.amp=auto`` (bf16 autocast on GPUs with bf16 and on CPUs
with native bf16), the fused optimizer, and with ``--compile`` also ``train.compile=on`` on CUDA.
Steady-state speed comes from the metrics log (the steps between the first and the last logged
step: model building, the first steps, compiling and the final evaluation are not counted).

Printed per recipe and device: steps/s, sentences/s, and for every device after the first, the
speed-up and the minutes it needs for as many steps as the recipe's ``max_minutes`` budget gives on
the first device (e.g. "a 90-CPU-minute recipe takes 6 minutes on this GPU").
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from textvae.config import load_recipe
from textvae.errors import TextvaeError, run_script
from textvae.training import train

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
DEFAULT = ("yelp_vae", "yelp_bnvae", "yelp_ibt_gru", "yelp_ibt_transformer", "yelp_melnyk")


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    from train_throughput import cpu_name

    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def steady_speed(run: Path) -> tuple:
    """(steps/s, sentences/s) between the first and the last logged training step."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("split") == "train"]
    if len(rows) < 2:
        raise TextvaeError(f"{run}: fewer than two logged training steps; raise --steps")
    first, last = rows[0], rows[-1]
    steps_per_s = (last["step"] - first["step"]) / (last["elapsed"] - first["elapsed"])
    result = json.loads((run / "result.json").read_text()) if (run / "result.json").is_file() else {}
    per_step = result.get("sentences", 0) / max(result.get("step", 1), 1)
    return steps_per_s, steps_per_s * per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", default=list(DEFAULT))
    parser.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--compile", action="store_true", help="train.compile=on on CUDA devices")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data", default=None, help="corpus directory (default: each recipe's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices.split(",")
    for device in devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise TextvaeError(f"--devices {device}: no CUDA device here")
    log_every = max(1, args.steps // 10)
    print("| recipe | device | steps/s | sentences/s | speed-up | minutes for the first device's budget |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.recipes:
        base = None
        for device in devices:
            overrides = [f"train.device={device}", f"train.max_steps={args.steps}", "train.max_minutes=null",
                         "train.max_epochs=null", f"train.log_every={log_every}", f"train.eval_every={10 ** 9}",
                         f"train.checkpoint_every={10 ** 9}", "train.eval_transfer_sentences=0",
                         "train.early_stopping.metric=null", "train.amp=auto"]
            if args.threads:
                overrides.append(f"train.threads={args.threads}")
            if args.compile and device.startswith("cuda"):
                overrides.append("train.compile=on")
            if args.data:
                overrides.append(f"data.path={args.data}")
            config = load_recipe(RECIPES / f"{name}.yaml", overrides)
            budget = load_recipe(RECIPES / f"{name}.yaml").train.max_minutes
            with tempfile.TemporaryDirectory() as tmp:
                train(config, Path(tmp) / "run")
                steps_per_s, sentences_per_s = steady_speed(Path(tmp) / "run")
            if base is None:
                base = steps_per_s
                cells = ["1.00x", "-"]
            else:
                minutes = base * (budget or 0) * 60 / steps_per_s / 60 if budget else float("nan")
                cells = [f"{steps_per_s / base:.2f}x", f"{minutes:.1f} (of {budget})"]
            print(f"| {name} | {device} ({device_name(device)}) | {steps_per_s:.2f} | {sentences_per_s:.0f} | "
                  + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    run_script(main)
