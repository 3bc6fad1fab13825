"""Reconstruction metrics for autoencoders: loss terms and greedy reconstruction accuracy."""

from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn

from textvae.data.batching import Batch
from textvae.data.tokenizer import PAD_ID


def greedy_accuracy(decoded: torch.Tensor, batch: Batch) -> Dict[str, torch.Tensor]:
    """Position-wise accuracy of decoded tokens against the reference (EOS included) and exact matches."""
    target = batch.tgt_out
    width = min(decoded.size(1), target.size(1))
    mask = target != PAD_ID
    correct = torch.zeros_like(mask)
    correct[:, :width] = (decoded[:, :width] == target[:, :width]) & mask[:, :width]
    exact = (correct.sum(1) == mask.sum(1))
    return {"correct": correct.sum(), "total": mask.sum(), "exact": exact.sum()}


@torch.no_grad()
def evaluate_reconstruction(model: nn.Module, batches: List[Batch], device: torch.device,
                            extra_len: int = 5, seed: int = 0) -> Dict[str, float]:
    """Mean loss terms over ``batches`` plus greedy reconstruction accuracy from the posterior mean.

    VAE loss terms use one posterior sample per sentence (a real ELBO), drawn from a fixed
    ``seed`` so that two evaluations of the same model agree. ``recon_acc`` is the share of
    reference tokens (EOS included) that greedy decoding reproduces at the right position;
    ``recon_exact`` the share of sentences reproduced exactly.
    """
    was_training = model.training
    model.eval()
    sums: Dict[str, float] = {}
    sentences = correct = total = exact = 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in batches:
            batch = batch.to(device)
            size = len(batch)
            sentences += size
            for key, value in model(batch).items():
                sums[key] = sums.get(key, 0.0) + float(value) * size
            if not model.latent_dim:
                continue  # a language model has nothing to reconstruct from
            decoded = model.reconstruct(batch, max_len=batch.tgt_out.size(1) + extra_len)
            counts = greedy_accuracy(decoded, batch)
            correct += int(counts["correct"])
            total += int(counts["total"])
            exact += int(counts["exact"])
    model.train(was_training)
    metrics = {key: value / max(sentences, 1) for key, value in sums.items()}
    if total:
        metrics["recon_acc"] = correct / total
        metrics["recon_exact"] = exact / sentences
    return metrics
