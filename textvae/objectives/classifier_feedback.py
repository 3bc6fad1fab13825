"""Classifier feedback for style transfer without parallel data: a style classifier trained on
real sentences reads the model's soft (Gumbel-softmax, Jang et al. 2017) transfers, and the
model learns to make it predict the target style (Hu et al. 2017; Shen et al. 2017; Lample et
al. 2019). ``cycle`` is a model's ``CycleConfig`` (``soft_temperature``, ``gumbel``,
``style_fraction``)."""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from textvae.data.tokenizer import BOS_ID
from textvae.decoding.search import add_gumbel, soft_decode
from textvae.objectives.terms import frozen_call

State = Dict[str, torch.Tensor]


def soft_style_loss(decoder: nn.Module, embedding: nn.Embedding, classifier: nn.Module, state: State,
                    targets: torch.Tensor, max_len: int, cycle, training: bool
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of a frozen copy of ``classifier`` towards ``targets`` on the decoder's soft
    (Gumbel-softmax while training) outputs, so gradients reach the decoder but not the
    classifier; returns ``(loss, accuracy)``."""
    soft = soft_decode(decoder.step_embedded, embedding.weight, state, targets.size(0), max_len,
                       temperature=cycle.soft_temperature, gumbel=cycle.gumbel and training)
    return frozen_classifier_loss(classifier, soft["probs"], soft["mask"], targets)


def prefix_style_loss(decoder: nn.Module, classifier: nn.Module, context: State, tokens: torch.Tensor,
                      lengths: torch.Tensor, targets: torch.Tensor, cycle, training: bool
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``greedy_prefix`` relaxation of the style loss: one teacher-forced decoder pass over
    hard transfers ``tokens`` ``(B, T)`` (e.g. the greedy back-translations), the classifier
    reading the (Gumbel-)softmax at each of the first ``lengths`` positions."""
    inputs = torch.cat([torch.full_like(tokens[:, :1], BOS_ID), tokens[:, :-1]], 1)
    logits = decoder(inputs, context).float()
    if cycle.gumbel and training:
        logits = add_gumbel(logits)
    probs = (logits / cycle.soft_temperature).softmax(-1)
    mask = torch.arange(tokens.size(1), device=tokens.device)[None, :] < lengths[:, None]
    return frozen_classifier_loss(classifier, probs, mask, targets)


def frozen_classifier_loss(classifier: nn.Module, probs: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy towards ``targets`` and accuracy of the classifier, frozen, reading soft
    sentences ``probs`` ``(B, T, V)`` with ``mask`` ``(B, T)``."""
    logits = frozen_call(classifier, probs=probs, mask=mask)
    return F.cross_entropy(logits.float(), targets), (logits.argmax(-1) == targets).float().mean().detach()


def style_loss_rows(batch_size: int, cycle, training: bool, device) -> torch.Tensor:
    """The rows of a batch the style loss decodes: a random ``cycle.style_fraction`` of them
    while training (at least one), all of them otherwise."""
    if not training or cycle.style_fraction >= 1:
        return torch.arange(batch_size, device=device)
    keep = max(1, round(batch_size * cycle.style_fraction))
    return torch.randperm(batch_size, device=device)[:keep]


def classifier_terms(classifier: nn.Module, src: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The style classifier's own loss and accuracy on real sentences."""
    logits = classifier(tokens=src)
    return {"clf_loss": F.cross_entropy(logits.float(), labels),
            "clf_acc": (logits.argmax(-1) == labels).float().mean().detach()}
