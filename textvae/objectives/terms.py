"""Loss terms: a model's objective as a list of named parts.

A :class:`LossTerm` has a name, a weight (a number or a schedule, optionally held at 0 for a
warm-up), a function that computes its value and metrics from what the model's forward pass
has worked out (the *context*), and optionally an :class:`Adversary`: parameters that are
trained on a loss of their own by an optimizer of their own (a discriminator, a classifier of
real sentences). A model lists its terms from its config; :class:`Objective` sums them, and the
optimizer groups follow from the adversaries once (``textvae.models.base.Model``), so a new
adversary can never end up trained on the model's own loss.

The trainer optimises every group's loss key with one backward pass (see
:mod:`textvae.training.trainer`), so a term must send gradient only to its own group's
parameters: a term that reads an adversary uses :func:`frozen_call`; an adversary's loss reads
detached inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.func import functional_call

from textvae.config import ScheduleConfig
from textvae.objectives.schedules import schedule_value

Metrics = Dict[str, torch.Tensor]
Context = Dict[str, object]


@dataclass(eq=False)
class Adversary:
    """Modules trained on their own loss (``loss``: the key of the model output that holds it)
    by their own optimizer (group ``name``, learning rate ``lr``). ``extra_steps`` more updates
    of this group alone follow each training step, each on the loss ``extra_loss()`` returns
    (None: skip)."""

    name: str
    modules: Sequence[nn.Module]
    loss: str
    lr: Optional[float] = None
    extra_steps: int = 0
    extra_loss: Optional[Callable[[], Optional[torch.Tensor]]] = None

    def parameters(self) -> List[nn.Parameter]:
        return [p for module in self.modules for p in module.parameters()]


@dataclass(eq=False)
class LossTerm:
    """One weighted part of an objective (see the module docstring).

    ``compute(context)`` returns ``(value, metrics)``, or None when the term does not apply to
    this batch. ``when``: ``always`` computes it at every step (a KL that is logged even at
    weight 0), ``weighted`` only while its weight is not 0, ``weighted_or_eval`` also in
    evaluation (so dev metrics show it before it is switched on). ``warmup``: the weight is 0
    before this step, and a schedule counts its steps from there. ``weight_metric``: the metric
    key under which the weight in force is logged.
    """

    name: str
    compute: Callable[[Context], Optional[Tuple[torch.Tensor, Metrics]]]
    weight: Union[float, ScheduleConfig, Callable[[int], float]] = 1.0  # a callable maps the step to it
    sign: float = 1.0  # -1: the term is maximised (e.g. an adversary's entropy)
    warmup: int = 0
    when: str = "always"
    adversary: Union[Adversary, Sequence[Adversary], None] = None  # one, or several (e.g. a critic and a generator)
    weight_metric: Optional[str] = None

    def __post_init__(self):
        if self.when not in ("always", "weighted", "weighted_or_eval"):
            raise ValueError(f"LossTerm {self.name!r}: when must be always, weighted or weighted_or_eval")

    def weight_at(self, step: int) -> float:
        """The (unsigned) weight at training ``step``."""
        if step < self.warmup:
            return 0.0
        if isinstance(self.weight, ScheduleConfig):
            return schedule_value(self.weight, step - self.warmup)
        if callable(self.weight):
            return float(self.weight(step - self.warmup))
        return float(self.weight)

    def applies(self, weight: float, training: bool) -> bool:
        if self.when == "always":
            return True
        return weight != 0 or (self.when == "weighted_or_eval" and not training)


@dataclass
class Objective:
    """The weighted sum of a model's terms, in their order (the order of the random draws)."""

    terms: List[LossTerm] = field(default_factory=list)

    def __call__(self, context: Context, step: int, training: bool) -> Tuple[torch.Tensor, Metrics]:
        loss: Optional[torch.Tensor] = None
        metrics: Metrics = {}
        for term in self.terms:
            weight = term.weight_at(step)
            if not term.applies(weight, training):
                continue
            result = term.compute(context)
            if result is None:
                continue
            value, term_metrics = result
            metrics.update(term_metrics)
            if term.weight_metric:
                metrics[term.weight_metric] = torch.tensor(weight)
            if weight != 0 or term.when == "always":
                part = (term.sign * weight) * value
                loss = part if loss is None else loss + part
        if loss is None:
            raise RuntimeError("the objective has no term that applies to this batch")
        return loss, metrics

    def adversaries(self) -> List[Adversary]:
        """Every adversary of the terms, once each, in term order."""
        seen: List[Adversary] = []
        for term in self.terms:
            own = () if term.adversary is None else (term.adversary,) if isinstance(term.adversary, Adversary) \
                else term.adversary
            seen += [a for a in own if all(a is not b for b in seen)]
        return seen

    def names(self) -> List[str]:
        return [term.name for term in self.terms]


def frozen_call(module: nn.Module, *args, **kwargs):
    """``module(*args, **kwargs)`` with its parameters detached: gradients reach the inputs only,
    so the model learns to fool (or please) an adversary without training it."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, params, args, kwargs)
