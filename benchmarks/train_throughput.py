"""Training throughput of the classic Sentence-VAE setting: textvae against the anchor users would
otherwise run, the training loop of the popular PyTorch port (timbmg/Sentence-VAE) re-implemented.

    python benchmarks/train_throughput.py [--data ../shared/data/yelp] [--batch 32] [--steps 60]
        [--threads N] [--compile] [--bf16] [--device cpu|cuda]

Setting (Bowman et al. 2016 as in the port's defaults): embedding 300, GRU 256 encoder and decoder,
latent 16, batch 32, embedding dropout 0.5 on the decoder's input, word vocabulary, on 20,000 Yelp
training sentences. Both sides train the same model on the same sentences in this one run:

- textvae: `textvae.training.Trainer` steps with length-bucketed batches, the fused output-layer
  NLL and a fused optimizer (``--compile``: also with ``train.compile=on``);
- the anchor, the port's loop as it is written (its model.py and train.py, re-implemented here, not
  copied): every sentence padded to ``max_sequence_length`` 60 by the dataset, shuffled batches,
  each batch sorted by length for packing and unsorted after, the decoder's outputs padded back to
  the batch's longest sentence, log-softmax then NLL (sum, padding ignored) over every position,
  KL with the port's logistic annealing, the default Adam (lr 1e-3). Not re-implemented: its
  DataLoader worker processes (2 cores here) and its TensorBoard logging.

Both run in fp32, and again under bf16 autocast where the CPU has native bf16 (or with --bf16;
on a GPU always). ``--device cuda`` times both on a GPU (synchronised before each clock reading;
textvae's trainer then also uses its fused CUDA optimizer, and ``--compile`` the compiled step).

Targets: issue 3, textvae >= 500 sentences/s on 2 CPU cores; issue 28, >= 3x the anchor at equal
precision and >= 50% of the bf16 matmul limit on CPUs with native bf16 (fp32 elsewhere: >= 2x).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
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

from decode import matmul_gflops, sync

SETTING = ["model.embedding_dim=300", "model.dropout=0.5", "model.encoder.hidden_size=256",
           "model.encoder.bidirectional=false", "model.decoder.hidden_size=256", "model.decoder.latent_concat=false",
           "model.latent.type=gaussian", "model.latent.dim=16"]
MAX_SEQUENCE_LENGTH = 60  # the port's default


class SentenceVAEPort(nn.Module):
    """The port's model: GRU encoder, mean and log-variance layers, latent -> decoder state, GRU
    decoder on the (embedding-dropped) inputs, log-softmax over the vocabulary."""

    def __init__(self, vocab: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 300)
        self.embedding_dropout = nn.Dropout(0.5)
        self.encoder_rnn = nn.GRU(300, 256, batch_first=True)
        self.decoder_rnn = nn.GRU(300, 256, batch_first=True)
        self.hidden2mean, self.hidden2logv = nn.Linear(256, 16), nn.Linear(256, 16)
        self.latent2hidden = nn.Linear(16, 256)
        self.outputs2vocab = nn.Linear(256, vocab)

    def forward(self, input_sequence, length):
        batch_size = input_sequence.size(0)
        sorted_lengths, sorted_idx = torch.sort(length, descending=True)
        input_sequence = input_sequence[sorted_idx]
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(input_sequence), sorted_lengths.tolist(),
                                                   batch_first=True)
        _, hidden = self.encoder_rnn(packed)
        hidden = hidden.squeeze(0)
        mean, logv = self.hidden2mean(hidden), self.hidden2logv(hidden)
        z = torch.randn(batch_size, 16, device=mean.device) * torch.exp(0.5 * logv) + mean
        hidden = self.latent2hidden(z).unsqueeze(0)
        decoder_input = self.embedding_dropout(self.embedding(input_sequence))
        packed = nn.utils.rnn.pack_padded_sequence(decoder_input, sorted_lengths.tolist(), batch_first=True)
        outputs, _ = self.decoder_rnn(packed, hidden)
        padded = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)[0].contiguous()
        _, reversed_idx = torch.sort(sorted_idx)
        padded = padded[reversed_idx]
        b, s, _ = padded.size()
        logp = F.log_softmax(self.outputs2vocab(padded.view(-1, padded.size(2))), dim=-1).view(b, s, -1)
        return logp, mean[reversed_idx], logv[reversed_idx]


def port_dataset(ids):
    """The port's dataset: ``<sos> w..`` inputs and ``w.. <eos>`` targets, padded to 60 tokens."""
    rows = []
    for seq in ids:
        seq = seq[:MAX_SEQUENCE_LENGTH - 1]
        pad = [PAD_ID] * (MAX_SEQUENCE_LENGTH - len(seq) - 1)
        rows.append(([BOS_ID] + seq + pad, seq + [EOS_ID] + pad, len(seq) + 1))
    return rows


def port_loss(logp, target, length, mean, logv, step):
    """NLL (sum over the batch's tokens, padding ignored) and KL with the port's logistic annealing
    (k 0.0025, x0 2500), over the batch size."""
    target = target[:, :int(length.max())].contiguous().view(-1)
    nll = F.nll_loss(logp.view(-1, logp.size(2)), target, ignore_index=PAD_ID, reduction="sum")
    kl = -0.5 * torch.sum(1 + logv - mean.pow(2) - logv.exp())
    kl_weight = float(1 / (1 + math.exp(-0.0025 * (step - 2500))))
    return (nll + kl_weight * kl) / logp.size(0)


def time_anchor(ids, vocab, batch, steps, bf16, device=torch.device("cpu")):
    """Sentences per second of the port's loop (its first 3 steps are not timed)."""
    torch.manual_seed(0)
    model = SentenceVAEPort(vocab).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = port_dataset(ids)
    order = list(range(len(data)))
    random.Random(0).shuffle(order)
    started, done = None, 0
    for step in range(steps + 3):
        if step == 3:
            sync(device)
            started, done = time.perf_counter(), 0
        chunk = [data[i] for i in order[step * batch:(step + 1) * batch]]
        inputs = torch.tensor([r[0] for r in chunk], device=device)
        targets = torch.tensor([r[1] for r in chunk], device=device)
        length = torch.tensor([r[2] for r in chunk])  # on the host, as pack_padded_sequence wants
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logp, mean, logv = model(inputs, length)
            loss = port_loss(logp.float(), targets, length, mean.float(), logv.float(), step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done += len(chunk)
    sync(device)
    return done / (time.perf_counter() - started)


def time_textvae(ids, vocab, batch, steps, bf16, compile_step=False, device=torch.device("cpu")):
    """Sentences per second of textvae's trainer (``compile_step``: with train.compile=on; its
    first 10 steps, where it compiles, are not timed)."""
    config = load_recipe(None, SETTING)
    torch.manual_seed(0)
    model = build_model(config.model, vocab).to(device)
    train_cfg = TrainConfig(max_tokens=10**6, max_sentences=batch, max_steps=steps, amp="bf16" if bf16 else "off",
                            compile="on" if compile_step else "off")
    schedule = BatchSchedule([len(s) for s in ids], train_cfg.max_tokens, batch, seed=0)
    trainer = Trainer(model, train_cfg, schedule, lambda idx: collate([ids[i] for i in idx]),
                      Path(tempfile.mkdtemp()), save=lambda *a: None, device=device)
    batches = schedule.epoch(0)
    warmup = 10 if compile_step else 3
    started, done = None, 0
    for i, indices in enumerate(batches[:steps + warmup]):
        if i == warmup:
            sync(device)
            started, done = time.perf_counter(), 0
        trainer.train_step([indices])
        done += len(indices)
    sync(device)
    return done / (time.perf_counter() - started)


def flops_per_sentence(mean_length: float, vocab: int) -> float:
    """Matmul FLOPs of one training sentence (forward + backward = 3x forward): GRU encoder over
    L tokens, GRU decoder and output layer over L + 1 positions (the padding the anchor also
    computes is not useful work and not counted)."""
    encoder = 2 * 3 * 256 * (300 + 256)
    decoder = 2 * 3 * 256 * (300 + 256)
    output = 2 * 256 * vocab
    return 3 * (mean_length * encoder + (mean_length + 1) * (decoder + output))


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """The CPU for a benchmark row, with what tells same-named models apart (family/model, bf16)."""
    fields = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    bf16 = ", AVX512-BF16" if cpu_has_native_bf16() else ""
    family = f" (family {fields['cpu family']} model {fields['model']}{bf16})" if "cpu family" in fields else ""
    return f"{cpu_name()}{family}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "yelp"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16", action="store_true", help="time bf16 autocast even where the CPU emulates it")
    parser.add_argument("--compile", action="store_true", help="also time textvae with train.compile=on")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_corpus(args.data, splits=("train",)).texts("train")
    tokenizer = train_tokenizer(texts, TokenizerConfig(type="word", vocab_size=12000))
    ids = tokenizer.encode(texts[:20000])
    native = cpu_has_native_bf16() if device.type == "cpu" else torch.cuda.is_bf16_supported()
    precisions = [False, True] if native or args.bf16 else [False]
    n, v = args.batch, len(tokenizer)
    results = {bf16: (time_textvae(ids, v, n, args.steps, bf16, device=device),
                      time_anchor(ids, v, n, args.steps, bf16, device),
                      time_textvae(ids, v, n, args.steps, bf16, True, device) if args.compile else None)
               for bf16 in precisions}
    where = (f"{torch.cuda.get_device_name(device)}" if device.type == "cuda"
             else f"{platform.machine()} ({cpu_name()}), {torch.get_num_threads()} threads")
    print(f"machine: {where}, torch {torch.__version__}; "
          f"vocabulary {len(tokenizer)}, batch {args.batch}, {args.steps} timed steps each")
    mean_length = sum(len(s) for s in ids) / len(ids)
    flops = flops_per_sentence(mean_length, len(tokenizer))
    print(f"machine limit: measured matmul GFLOP/s for the output layer's shape / {flops / 1e6:.0f} MFLOP of "
          f"matmuls per training sentence (mean length {mean_length:.1f})")
    print("| precision | textvae sent/s | anchor sent/s | ratio | machine limit sent/s | share of limit "
          "| compiled sent/s | compiled / anchor | share of limit |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for bf16, (ours, anchor, compiled) in results.items():
        name = "bf16 autocast (train.amp=auto here)" if bf16 and native else "bf16 autocast" if bf16 else "fp32"
        dtype = torch.bfloat16 if bf16 else torch.float32
        limit = matmul_gflops(len(tokenizer), dtype, rows=384, device=device) * 1e9 / flops
        tail = f" {compiled:.0f} | {compiled / anchor:.2f}x | {compiled / limit:.0%} |" if compiled else " - | - | - |"
        print(f"| {name} | {ours:.0f} | {anchor:.0f} | {ours / anchor:.2f}x | {limit:.0f} | {ours / limit:.0%} |" + tail)


if __name__ == "__main__":
    run_script(main)
