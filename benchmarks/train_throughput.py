"""Training throughput of the classic Sentence-VAE setting, textvae vs. a naive implementation.

    python benchmarks/train_throughput.py [--data ../shared/data/yelp] [--batch 32] [--steps 60] [--compile]

Setting (Bowman et al. 2016 as in the popular PyTorch ports): embedding 300, GRU 256 encoder and
decoder, latent 16, batch 32, word vocabulary, on Yelp training sentences. Both sides train the
same model on the same sentences in this one run:

- textvae: `textvae.training.Trainer` steps with length-bucketed batches, the fused output-layer
  NLL and a fused optimizer;
- naive: what research code typically does: batches in corpus order padded to the corpus'
  longest sentence, log-softmax then NLL over every position (padding masked), the default
  (for-loop) Adam.

Both run in fp32, and again under bf16 autocast where the CPU has native bf16 (or with --bf16).

Target (issue 3): textvae >= 500 sentences/s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from textvae.config import TokenizerConfig, TrainConfig, load_recipe
from textvae.data.batching import BatchSchedule, collate
from textvae.data.corpus import load_corpus
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, train_tokenizer
from textvae.errors import run_script
from textvae.models import build_model
from textvae.training.trainer import Trainer, cpu_has_native_bf16

SETTING = ["model.embedding_dim=300", "model.encoder.hidden_size=256", "model.encoder.bidirectional=false",
           "model.decoder.hidden_size=256", "model.latent.type=gaussian", "model.latent.dim=16"]


class NaiveSentenceVAE(nn.Module):
    """The same architecture written the usual research-code way."""

    def __init__(self, vocab: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 300, padding_idx=PAD_ID)
        self.encoder = nn.GRU(300, 256, batch_first=True)
        self.mean, self.logvar = nn.Linear(256, 16), nn.Linear(256, 16)
        self.init = nn.Linear(16, 256)
        self.decoder = nn.GRU(300 + 16, 256, batch_first=True)
        self.out = nn.Linear(256, vocab)

    def forward(self, src, lengths, tgt_in, tgt_out):
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(src), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.encoder(packed)
        mean, logvar = self.mean(h[-1]), self.logvar(h[-1])
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        x = torch.cat([self.embedding(tgt_in), z[:, None].expand(-1, tgt_in.size(1), -1)], -1)
        out, _ = self.decoder(x, torch.tanh(self.init(z))[None])
        log_probs = F.log_softmax(self.out(out), dim=-1)
        nll = F.nll_loss(log_probs.view(-1, log_probs.size(-1)), tgt_out.view(-1), ignore_index=PAD_ID,
                         reduction="sum") / src.size(0)
        kl = -0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).sum(1).mean()
        return nll + kl


def naive_batches(ids, batch, width):
    for start in range(0, len(ids) - batch + 1, batch):
        chunk = ids[start:start + batch]
        src = torch.full((batch, width), PAD_ID)
        tgt_in = torch.full((batch, width + 1), PAD_ID)
        tgt_out = torch.full((batch, width + 1), PAD_ID)
        for row, seq in enumerate(chunk):
            src[row, :len(seq)] = torch.tensor(seq)
            tgt_in[row, 0] = BOS_ID
            tgt_in[row, 1:len(seq) + 1] = torch.tensor(seq)
            tgt_out[row, :len(seq)] = torch.tensor(seq)
            tgt_out[row, len(seq)] = EOS_ID
        yield src, torch.tensor([max(1, len(s)) for s in chunk]), tgt_in, tgt_out


def time_naive(ids, vocab, batch, steps, width, bf16):
    torch.manual_seed(0)
    model = NaiveSentenceVAE(vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=False)
    batches = naive_batches(ids, batch, width)
    started, done = None, 0
    for i, (src, lengths, tgt_in, tgt_out) in enumerate(batches):
        if i == 3:
            started, done = time.perf_counter(), 0
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(src, lengths, tgt_in, tgt_out)
        loss.backward()
        optimizer.step()
        done += src.size(0)
        if i == steps + 2:
            break
    return done / (time.perf_counter() - started)


def time_textvae(ids, vocab, batch, steps, bf16, compile_step=False):
    """Sentences per second of textvae's trainer (``compile_step``: with train.compile=on; its
    first 10 steps, where it compiles, are not timed)."""
    config = load_recipe(None, SETTING)
    torch.manual_seed(0)
    model = build_model(config.model, vocab)
    train_cfg = TrainConfig(max_tokens=10**6, max_sentences=batch, max_steps=steps, amp="bf16" if bf16 else "off",
                            compile="on" if compile_step else "off")
    schedule = BatchSchedule([len(s) for s in ids], train_cfg.max_tokens, batch, seed=0)
    trainer = Trainer(model, train_cfg, schedule, lambda idx: collate([ids[i] for i in idx]),
                      Path(tempfile.mkdtemp()), save=lambda *a: None)
    batches = schedule.epoch(0)
    warmup = 10 if compile_step else 3
    started, done = None, 0
    for i, indices in enumerate(batches[:steps + warmup]):
        if i == warmup:
            started, done = time.perf_counter(), 0
        trainer.train_step([indices])
        done += len(indices)
    return done / (time.perf_counter() - started)


def matmul_gflops(vocab: int, dtype: torch.dtype, rows: int = 384, repeats: int = 30) -> float:
    """Measured matmul throughput for the output layer's shape (the dominant cost)."""
    a, b = torch.randn(rows, 256, dtype=dtype), torch.randn(256, vocab, dtype=dtype)
    for _ in range(3):
        a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * rows * 256 * vocab * repeats / (time.perf_counter() - started) / 1e9


def flops_per_sentence(mean_length: float, vocab: int) -> float:
    """Matmul FLOPs of one training sentence (forward + backward = 3x forward): GRU encoder over
    L tokens, GRU decoder and output layer over L + 1 positions."""
    encoder = 2 * 3 * 256 * (300 + 256)
    decoder = 2 * 3 * 256 * (300 + 16 + 256)
    output = 2 * 256 * vocab
    return 3 * (mean_length * encoder + (mean_length + 1) * (decoder + output))


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "yelp"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16", action="store_true", help="time bf16 autocast even where the CPU emulates it")
    parser.add_argument("--compile", action="store_true", help="also time textvae with train.compile=on")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_corpus(args.data, splits=("train",)).texts("train")
    tokenizer = train_tokenizer(texts, TokenizerConfig(type="word", vocab_size=12000))
    ids = tokenizer.encode(texts[:20000])
    width = max(len(s) for s in tokenizer.encode(texts))
    precisions = [False, True] if cpu_has_native_bf16() or args.bf16 else [False]
    results = {bf16: (time_textvae(ids, len(tokenizer), args.batch, args.steps, bf16),
                      time_naive(ids, len(tokenizer), args.batch, args.steps, width, bf16),
                      time_textvae(ids, len(tokenizer), args.batch, args.steps, bf16, True) if args.compile else None)
               for bf16 in precisions}
    print(f"machine: {platform.machine()} ({cpu_name()}), torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"vocabulary {len(tokenizer)}, batch {args.batch}, {args.steps} timed steps each")
    mean_length = sum(len(s) for s in ids) / len(ids)
    flops = flops_per_sentence(mean_length, len(tokenizer))
    print(f"machine limit: measured matmul GFLOP/s for the output layer's shape / {flops / 1e6:.0f} MFLOP of "
          f"matmuls per training sentence (mean length {mean_length:.1f})")
    print("| precision | textvae sent/s | naive sent/s | ratio | machine limit sent/s | share of limit | compiled sent/s "
          "| compiled / eager |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for bf16, (ours, naive, compiled) in results.items():
        name = "bf16 autocast (train.amp=auto here)" if bf16 and cpu_has_native_bf16() else "bf16 autocast" if bf16 else "fp32"
        limit = matmul_gflops(len(tokenizer), torch.bfloat16 if bf16 else torch.float32) * 1e9 / flops
        tail = f" {compiled:.0f} | {compiled / ours:.2f}x |" if compiled else " - | - |"
        print(f"| {name} | {ours:.0f} | {naive:.0f} | {ours / naive:.2f}x | {limit:.0f} | {ours / limit:.0%} |" + tail)

if __name__ == "__main__":
    run_script(main)
