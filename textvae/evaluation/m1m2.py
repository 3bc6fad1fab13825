"""M1+M2 on sentence codes: the stacked semi-supervised model of Kingma, Rezende, Mohamed and
Welling (2014, "Semi-supervised learning with deep generative models", section 3.1.3).

M1 is any trained textvae model with a code; M2 is fitted on its codes: a classifier q(y|z1), an
inference network q(z2|z1, y) and a generator p(z1|y, z2), trained on N labelled codes with the
labelled bound plus ``alpha`` times the classification loss, and on many unlabelled codes with
the bound averaged over every label under q(y|z1) plus q's entropy (the label enumerated, as in
the paper). The unlabelled codes are what a probe cannot use: where the classes make clusters in
code space, they move the decision boundary into the gap between them.

Differences from the paper, and why: z1 is the posterior mean, standardised on the unlabelled
pool (the paper samples z1 ~ q(z1|x); the few-label protocol classifies posterior means, so the
same codes go in); p(z1|y, z2) is a diagonal Gaussian with a learnt variance (the paper's M1 codes
are Gaussian too); one hidden layer of 128 ReLU units (the paper: 500 softplus units, for MNIST);
``alpha`` weighs a mean over the labelled batch against the unlabelled batch's mean, 0.1 times
the label count by default (the paper's 0.1 N on sums over the data set gives the same balance of
the two sums); training runs a fixed number of Adam steps, since with N labels there is no
labelled development set to stop on.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class StackedM2(nn.Module):
    """M2 over continuous codes ``x`` (``dim``) with ``classes`` labels and a ``latent``-dimensional z2."""

    def __init__(self, dim: int, classes: int, latent: int = 16, hidden: int = 128):
        super().__init__()
        self.classes = classes
        self.classify = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, classes))
        self.infer = nn.Sequential(nn.Linear(dim + classes, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.generate = nn.Sequential(nn.Linear(latent + classes, hidden), nn.ReLU(), nn.Linear(hidden, 2 * dim))

    def negative_bound(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-ELBO of ``(x, y)`` per row, ``(B,)``: -log p(x|y,z2) + KL(q(z2|x,y) || N(0, I)) - log p(y)
        (a uniform p(y)); one reparameterised sample of z2."""
        onehot = F.one_hot(y, self.classes).to(x.dtype)
        mean, logvar = self.infer(torch.cat([x, onehot], -1)).chunk(2, -1)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        x_mean, x_logvar = self.generate(torch.cat([z, onehot], -1)).chunk(2, -1)
        x_logvar = x_logvar.clamp(-8, 8)
        nll = 0.5 * (x_logvar + (x - x_mean) ** 2 / x_logvar.exp() + math.log(2 * math.pi)).sum(-1)
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum(-1)
        return nll + kl + math.log(self.classes)

    def loss(self, labelled: torch.Tensor, labels: torch.Tensor, unlabelled: torch.Tensor, alpha: float) -> torch.Tensor:
        """The batch loss: the mean over labelled rows of -L(x, y) + alpha * -log q(y|x), plus the
        mean over unlabelled rows of -U(x) = sum over y of q(y|x) * -L(x, y) - H(q(y|x)). Every
        bound is computed in one pass (the labelled rows, then each unlabelled row once per label)."""
        k, n = self.classes, len(unlabelled)
        log_q = F.log_softmax(self.classify(torch.cat([labelled, unlabelled])), -1)
        every = torch.arange(k, device=labelled.device).repeat_interleave(n)
        bounds = self.negative_bound(torch.cat([labelled, unlabelled.repeat(k, 1)]), torch.cat([labels, every]))
        labelled_bound, unlabelled_bounds = bounds[:len(labelled)], bounds[len(labelled):].view(k, n).t()
        classification = F.nll_loss(log_q[:len(labelled)], labels)
        q_log_q = log_q[len(labelled):]
        unlabelled_loss = (q_log_q.exp() * (unlabelled_bounds + q_log_q)).sum(-1).mean()
        return labelled_bound.mean() + alpha * classification + unlabelled_loss


def m1m2_accuracy(train_x: np.ndarray, train_y: Sequence[int], unlabelled_x: np.ndarray, test_x: np.ndarray,
                  test_y: Sequence[int], seed: int = 0, steps: int = 2000, batch: int = 256,
                  alpha: Optional[float] = None, lr: float = 1e-3) -> float:
    """Test accuracy of q(y|x) of an M2 fitted on the labelled codes ``train_x -> train_y`` and the
    ``unlabelled_x`` codes (their labels never seen); ``alpha`` defaults to 0.1 times the label count."""
    generator_state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # networks this small only lose time to a second thread
    try:
        raw = torch.as_tensor(unlabelled_x, dtype=torch.float32)
        mean, std = raw.mean(0), raw.std(0).clamp(min=1e-6)
        scale = lambda codes: (torch.as_tensor(codes, dtype=torch.float32) - mean) / std  # noqa: E731
        labelled, labels, pool = scale(train_x), torch.as_tensor(list(train_y)), scale(raw)
        classes = int(max(max(train_y), max(test_y))) + 1
        model = StackedM2(labelled.size(1), classes)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        alpha = 0.1 * len(labelled) if alpha is None else alpha
        for _ in range(steps):
            rows = torch.randint(len(labelled), (min(batch, len(labelled)),))
            loss = model.loss(labelled[rows], labels[rows], pool[torch.randint(len(pool), (batch,))], alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            predicted = model.classify(scale(test_x)).argmax(-1)
        return float((predicted == torch.as_tensor(list(test_y))).float().mean())
    finally:
        torch.random.set_rng_state(generator_state)
        torch.set_num_threads(threads)
