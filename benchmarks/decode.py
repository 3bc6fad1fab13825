"""Decoding speed (issue 5): sentences per second for GRU and Transformer decoders.

    python benchmarks/decode.py [--batches 1,32,256] [--max-len 20] [--device cpu|cuda] [--threads N]
        [--default-malloc] [--out FILE]

Decoders of the Yelp recipes' size (word vocabulary of 9,518, embedding 256, latent 32): the
GRU 256 decoder of yelp_*.yaml and a 3-layer Transformer of width 256 (4 heads, feed-forward
1024). Weights are random and EOS is never chosen, so every sentence runs exactly ``max_len``
steps and all strategies do the same amount of work; the output layer is scaled so that
next-token distributions have the entropy of the trained Yelp LM (3.7 nats), not the near-uniform
ones of random weights. Compared in the same run:

- textvae: cached state (RNN state / key-value cache), batched greedy, beam 5 and top-p 0.9;
- naive: the whole prefix recomputed every step (``cache=False``) and beam search run one
  sentence at a time, as most research code does;
- the machine limit: the decoder's matmul FLOPs per generated token times tokens per second,
  as a share of the fp32 matmul throughput measured in the same run for the output layer's shape.

Like the ``textvae`` command, the benchmark keeps freed memory in the process
(:func:`textvae.runtime.keep_freed_memory`); ``--default-malloc`` times glibc's default.
On a GPU, ``--device cuda`` also times the fast path (bf16 autocast + CUDA graphs) against
plain fp32 eager decoding.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from textvae.config import load_recipe
from textvae.data.tokenizer import EOS_ID
from textvae.decoding import DecodeOptions, decode
from textvae.errors import run_script
from textvae.models import build_model
from textvae.runtime import keep_freed_memory

VOCAB, LATENT = 9518, 32
ENTROPY = 3.7  # nats: the per-word entropy of the Yelp LM (test PPL 40.5 = e^3.7)
DECODERS = {
    "gru": ["model.decoder.type=gru", "model.decoder.hidden_size=256"],
    "transformer": ["model.decoder.type=transformer", "model.decoder.hidden_size=256", "model.decoder.num_heads=4",
                    "model.decoder.ff_size=1024", "model.decoder.num_layers=3", "model.decoder.max_length=64"],
}


def build(kind: str, device: torch.device):
    config = load_recipe(None, ["model.embedding_dim=256", "model.latent.type=gaussian", f"model.latent.dim={LATENT}",
                                "model.dropout=0.0", *DECODERS[kind]])
    torch.manual_seed(0)
    model = build_model(config.model, VOCAB).to(device).eval()
    with torch.no_grad():
        model.decoder.out.bias[EOS_ID] = -1e4  # never end: fixed-length work for every strategy
    calibrate(model.decoder, device)
    return model.decoder


def entropy(logits: torch.Tensor) -> float:
    """Mean entropy (nats) of the next-token distributions ``logits`` give."""
    log_p = logits.float().log_softmax(-1)
    return float(-(log_p.exp() * log_p).sum(-1).mean())


def scale_to_entropy(weight: torch.Tensor, first_logits, target: float = ENTROPY) -> None:
    """Scale an output layer's ``weight`` until ``first_logits()`` (a first step's logits) has entropy
    ``target``: random weights give nearly uniform distributions, which no trained decoder has and
    which would make top-p keep thousands of tokens."""
    base = weight.detach().clone()
    low, high = 1.0, 64.0
    for _ in range(20):
        mid = (low * high) ** 0.5
        with torch.no_grad():
            weight.copy_(base * mid)
        low, high = (mid, high) if entropy(first_logits()) > target else (low, mid)
    with torch.no_grad():
        weight.copy_(base * (low * high) ** 0.5)


def calibrate(decoder, device) -> None:
    """A latent-conditioned decoder's output layer scaled to the Yelp LM's entropy."""
    z = torch.randn(64, LATENT, generator=torch.Generator().manual_seed(1)).to(device)

    def first_logits():
        with torch.inference_mode():
            return decoder.step(decoder.initial_state(z), torch.full((64,), 2, device=device))[0]

    scale_to_entropy(decoder.out.weight, first_logits)


def flops_per_token(kind: str, length: int) -> float:
    """Matmul FLOPs of one decoding step (average over a sentence of ``length`` tokens)."""
    out = 2 * 256 * VOCAB
    if kind == "gru":
        return out + 2 * 3 * 256 * (256 + LATENT + 256)
    layer = 2 * (256 * 3 * 256 + 256 * 256) + 2 * 2 * 256 * 1024  # qkv + proj, feed-forward
    layer += 2 * (256 * 256 + 256 * 256)  # cross-attention query and output (memory k/v once)
    attention = 2 * 2 * 256 * (length + 1) / 2  # scores and weighted sum over the cached prefix
    return out + 3 * (layer + attention)


def matmul_gflops(vocab: int = VOCAB, dtype: torch.dtype = torch.float32, rows: int = 256, repeats: int = 30,
                  device=torch.device("cpu")) -> float:
    """Measured matmul throughput for the output layer's shape (the dominant cost)."""
    a, b = torch.randn(rows, 256, dtype=dtype, device=device), torch.randn(256, vocab, dtype=dtype, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * rows * 256 * vocab * repeats / (time.perf_counter() - started) / 1e9


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, min_seconds: float = 1.0) -> float:
    """Seconds per call (after a warm-up call), averaged over at least ``min_seconds``."""
    fn()
    sync(device)
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        sync(device)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls


def rate(decoder, z, options: DecodeOptions, max_len: int, device) -> float:
    seconds = timed(lambda: decode(decoder, z, options, max_len=max_len), device)
    return z.size(0) / seconds


def one_at_a_time_beam(decoder, z, max_len, device) -> float:
    options = DecodeOptions(strategy="beam", beam_size=5, batch_size=1)
    n = min(z.size(0), 8)  # enough sentences for a stable rate
    seconds = timed(lambda: [decode(decoder, z[i:i + 1], options, max_len=max_len) for i in range(n)], device)
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--max-len", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's allocator as it is (the textvae command keeps freed memory; textvae.runtime)")
    args = parser.parse_args()
    if not args.default_malloc:
        keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    peak = matmul_gflops(device=device)
    print(f"{platform.processor() or platform.machine()} {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; matmul {peak:.0f} GFLOP/s", flush=True)
    results = []
    print("| decoder | batch | strategy | textvae sent/s | naive sent/s | speed-up | share of matmul peak |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for kind in DECODERS:
        decoder = build(kind, device)
        for batch in [int(b) for b in args.batches.split(",")]:
            z = torch.randn(batch, LATENT, device=device)
            fast = DecodeOptions(batch_size=batch, amp="none", cuda_graphs=False)
            rows = {
                "greedy": (rate(decoder, z, fast, args.max_len, device),
                           rate(decoder, z, DecodeOptions(batch_size=batch, cache=False, amp="none", cuda_graphs=False),
                                args.max_len, device)),
                "beam 5": (rate(decoder, z, DecodeOptions(strategy="beam", batch_size=batch, amp="none"), args.max_len,
                                device),
                           one_at_a_time_beam(decoder, z, args.max_len, device)),
                "top-p 0.9": (rate(decoder, z, DecodeOptions(strategy="sample", top_p=0.9, batch_size=batch, amp="none",
                                                             cuda_graphs=False), args.max_len, device), None),
            }
            if device.type == "cuda":  # the fast path against plain fp32 eager decoding
                rows["greedy, fp32 + CUDA graphs"] = (
                    rate(decoder, z, DecodeOptions(batch_size=batch, amp="none"), args.max_len, device),
                    rows["greedy"][0])
                rows["greedy, bf16 + CUDA graphs"] = (
                    rate(decoder, z, DecodeOptions(batch_size=batch, amp="bf16"), args.max_len, device),
                    rows["greedy"][0])
                rows["top-p 0.9, bf16 + CUDA graphs"] = (
                    rate(decoder, z, DecodeOptions(strategy="sample", top_p=0.9, batch_size=batch, amp="bf16"),
                         args.max_len, device), rows["top-p 0.9"][0])
            for strategy, (ours, naive) in rows.items():
                beams = 5 if strategy.startswith("beam") else 1
                share = ours * beams * args.max_len * flops_per_token(kind, args.max_len) / (peak * 1e9)
                results.append({"decoder": kind, "batch": batch, "strategy": strategy, "textvae": ours,
                                "naive": naive, "share_of_peak": share})
                naive_cell = f"{naive:.0f}" if naive else "-"
                ratio = f"{ours / naive:.1f}x" if naive else "-"
                print(f"| {kind} | {batch} | {strategy} | {ours:.0f} | {naive_cell} | {ratio} | {100 * share:.0f}% |",
                      flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"matmul_gflops": peak, "device": str(device),
                                              "threads": torch.get_num_threads(), "rows": results}, indent=2) + "\n")


if __name__ == "__main__":
    run_script(main)
