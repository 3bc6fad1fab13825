"""Reconstruction loss: the negative log-likelihood of the target tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textvae.data.tokenizer import PAD_ID


def tokenwise_nll(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """Each target token's NLL ``(B, T)``, 0 at padding."""
    # The flat (N, V) layout: cross_entropy on (B, V, T) takes a slow strided path (7x on CPU).
    flat = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1),
                           ignore_index=pad_id, reduction="none")
    return flat.view(targets.shape)


def sentence_nll(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """Summed token NLL per sentence ``(B,)``, padding excluded (the ELBO's reconstruction term)."""
    return tokenwise_nll(logits, targets, pad_id).sum(dim=1)


class _LinearNLL(torch.autograd.Function):
    """Token NLL of ``softmax(states @ weight.T + bias)`` in one autograd node.

    The usual logits -> log-softmax -> NLL chain makes five passes over the (N, V) logits and
    keeps three copies; here the forward makes one softmax (kept for the backward as the
    gradient's base) and the backward edits it in place. On CPU the output layer of a word-level
    model is the largest cost of a training step, and this saves about a sixth of it. Matmuls run
    in the autocast dtype when autocast is on; the softmax and the loss are float32.
    """

    @staticmethod
    def forward(ctx, states, weight, bias, targets):
        device = states.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else weight.dtype
        x, w = states.to(dtype), weight.to(dtype)
        logits = x @ w.t() if bias is None else torch.addmm(bias.to(dtype), x, w.t())
        probs = torch.softmax(logits, -1, dtype=torch.float32)
        # log-sum-exp without another pass over exp: the softmax at the top logit is 1 / sum(exp(l - top))
        top = logits.amax(-1).float()
        log_z = top - probs.amax(-1).log()
        nll = log_z - logits.gather(1, targets[:, None]).squeeze(1).float()
        ctx.save_for_backward(x, w, probs, targets)
        ctx.dtypes = (states.dtype, weight.dtype, None if bias is None else bias.dtype)
        return nll

    @staticmethod
    def backward(ctx, grad_nll):
        x, w, grad, targets = ctx.saved_tensors
        grad.mul_(grad_nll[:, None])  # d nll / d logits = softmax - one_hot(target)
        grad[torch.arange(len(targets), device=grad.device), targets] -= grad_nll
        grad_bias = None if ctx.dtypes[2] is None else grad.sum(0).to(ctx.dtypes[2])
        grad = grad.to(x.dtype)
        return (grad @ w).to(ctx.dtypes[0]), (grad.t() @ x).to(ctx.dtypes[1]), grad_bias, None


def output_nll(states: torch.Tensor, layer: nn.Linear, targets: torch.Tensor,
               pad_id: int = PAD_ID) -> torch.Tensor:
    """``sentence_nll(layer(states), targets)`` without materialising log-probabilities: the
    decoder's final states ``(B, T, H)`` and its output layer; per-sentence sums ``(B,)``."""
    keep = targets != pad_id
    nll = _LinearNLL.apply(states[keep], layer.weight, layer.bias, targets[keep])
    return torch.zeros(targets.shape, dtype=nll.dtype, device=nll.device).masked_scatter(keep, nll).sum(1)


def token_accuracy(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """Teacher-forced share of correctly predicted target tokens."""
    mask = targets != pad_id
    correct = (logits.argmax(-1) == targets) & mask
    return correct.sum().float() / mask.sum().clamp(min=1)


def language_model_nll(model, batch) -> torch.Tensor:
    """Summed NLL per sentence of ``batch`` (EOS included) under a textvae language model (a model
    with ``latent: none``, whose code is the encoder's empty mean)."""
    z = model.encode(batch.src, batch.lengths)["mean"]
    return sentence_nll(model.decoder(batch.tgt_in, z), batch.tgt_out)
