"""The model protocol: what the trainer, the model directory, the API and transfer rely on.

Every registered model (:mod:`textvae.models.registry`) subclasses :class:`Model`. What a model
can do is declared, never probed: ``latent_dim`` (0: no code to encode into), ``style_dim`` (a
split style/content code), ``is_gaussian``, ``is_language_model``, ``has_prior`` and
``can_transfer``; the methods for a capability are implemented where it is declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from textvae.config import ModelConfig
from textvae.data.batching import Batch
from textvae.errors import TextvaeError
from textvae.objectives.terms import Context, LossTerm, Objective

Codes = Dict[str, torch.Tensor]
# (rows of the batch, the decoder, what it conditions on): one group of a batch to decode
DecodePlan = List[Tuple[torch.Tensor, nn.Module, object]]


@dataclass
class TrainingData:
    """What a model may look at before training and before each save (``prepare`` and
    ``refresh_statistics``): the tokenised training split and a way to batch any part of it
    with the run's batch sizes."""

    ids: Sequence[Sequence[int]]
    texts: Sequence[str]
    labels: Sequence[int]
    tokenizer: object
    seed: int
    batches: Callable[[Sequence[int]], List[Batch]]  # training-sentence indices -> batches


class Model(nn.Module):
    """Base class of every textvae model (see the module docstring).

    A subclass builds its modules in ``__init__(config, vocab_size, label_names, tokenizer)``,
    lists its objective in :meth:`loss_terms` and works out the context the terms read in
    :meth:`context`. ``forward(batch)`` returns the loss dict the trainer optimises: ``loss``,
    the adversaries' losses and the metrics.
    """

    type_name: ClassVar[str] = ""  # set by register_model
    config_class: ClassVar[type] = ModelConfig
    can_transfer: ClassVar[bool] = False  # implements transfer_plan / rerank_scorers
    uses_strength: ClassVar[bool] = False  # --strength: moves a style code, or guides the decoder
    tune_strengths: ClassVar[Tuple[float, ...]] = (1.0,)  # what `textvae tune` tries when not told
    has_classifier: ClassVar[bool] = False  # implements label_logits: its own q(y|x) (e.g. M2)
    min_styles: ClassVar[int] = 0  # the fewest styles (labels) the training corpus may have
    # Parts of a test recipe for the contract test (tests/test_contract.py): overrides on top of the
    # tiny synthetic recipe; "{gpt}", "{bert}", "{mt_forward}", "{mt_backward}" name tiny local models.
    test_overrides: ClassVar[Tuple[str, ...]] = ()

    latent_dim = 0
    style_dim = 0
    is_gaussian = False
    is_language_model = False
    has_prior = False  # decoding codes drawn from N(0, I) gives sentences (report samples, interpolation)

    @property
    def pos_tags(self) -> Optional[str]:
        """Where the model's own part-of-speech tags come from (``factors`` or a word<TAB>TAG
        lexicon), for models trained with them; None for the others."""
        return None

    def __init__(self, config: ModelConfig, vocab_size: int, label_names: Sequence[str], tokenizer=None):
        super().__init__()
        self.config = config
        self.num_labels = len(label_names)
        self.step_count = 0  # the trainer's step, for schedules
        self._objective: Optional[Objective] = None
        self.external: Dict[str, object] = {}  # other trained models training reads (external_models)
        self._groups: Optional[List[dict]] = None

    # ------------------------------------------------------------------ objective

    def loss_terms(self) -> List[LossTerm]:
        """The terms of the objective, from the config (called once)."""
        raise NotImplementedError

    @property
    def objective(self) -> Objective:
        if self._objective is None:
            self._objective = Objective(self.loss_terms())
        return self._objective

    def context(self, batch: Batch) -> Context:
        """What the terms read: the batch and what the forward pass computes once for all of them.
        Its ``metrics`` entry (if any) is logged too, and each adversary's loss sits under its
        ``loss`` key."""
        return {"batch": batch}

    def forward(self, batch: Batch) -> Dict[str, torch.Tensor]:
        context = self.context(batch)
        loss, out = self.objective(context, self.step_count, self.training)
        out = {**context.get("metrics", {}), **out}
        for adversary in self.objective.adversaries():
            out[adversary.loss] = context[adversary.loss]
        out["loss"] = loss
        return self.finish_metrics(out)

    def finish_metrics(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Metrics that combine terms (e.g. the ELBO); the default adds none."""
        return out

    def set_step(self, step: int) -> None:
        """Called by the trainer before each update so that schedules follow training."""
        self.step_count = step

    def optimizer_groups(self) -> List[dict]:
        """Parameter groups, derived once from the terms: each adversary's parameters train on its
        own loss, every other trainable parameter on ``loss``; frozen ones are in no group.
        Asserts that every trainable parameter is in exactly one group."""
        if self._groups is None:
            adversaries = self.objective.adversaries()
            owned = {id(p) for a in adversaries for p in a.parameters()}
            groups = [{"name": "main", "loss": "loss",
                       "params": [p for p in self.parameters() if p.requires_grad and id(p) not in owned]}]
            for a in adversaries:
                group = {"name": a.name, "loss": a.loss, "params": [p for p in a.parameters() if p.requires_grad]}
                if a.lr is not None:
                    group["lr"] = a.lr
                if a.extra_steps:
                    group.update(extra_steps=a.extra_steps, extra_loss=a.extra_loss)
                groups.append(group)
            counts: Dict[int, int] = {}
            for group in groups:
                for p in group["params"]:
                    counts[id(p)] = counts.get(id(p), 0) + 1
            trainable = {id(p) for p in self.parameters() if p.requires_grad}
            assert set(counts) == trainable and all(n == 1 for n in counts.values()), \
                f"{type(self).__name__}: optimizer groups must partition the trainable parameters"
            self._groups = groups
        return self._groups

    # ------------------------------------------------------------------ training hooks

    def prepare(self, data: TrainingData) -> None:
        """Set-up from the training split before training (e.g. a content vocabulary)."""

    def refresh_statistics(self, data: TrainingData) -> None:
        """Statistics stored with the weights, recomputed before each save and transfer evaluation
        (e.g. the mean style vectors)."""

    # ------------------------------------------------------------------ the model directory

    @classmethod
    def check_setup(cls, config: ModelConfig, label_names: Sequence[str]) -> None:
        """Checks of the corpus' styles and of outside resources (local models) before any training
        work starts."""
        if len(label_names) < cls.min_styles:
            raise TextvaeError(f"a {cls.type_name} model needs a corpus with {cls.min_styles} or more styles; this "
                               f"one has {len(label_names)} ({', '.join(label_names) or 'none'})")

    @classmethod
    def external_models(cls, config: ModelConfig) -> Dict[str, str]:
        """Other trained textvae models that training needs, ``{name: directory}`` (e.g. a reward's
        language model): the trainer loads each before the run directory is made and hands it over
        with :meth:`attach_external`; they are not part of this model (not trained, not saved)."""
        return {}

    def attach_external(self, name: str, bundle) -> None:
        """Take a model :meth:`external_models` asked for (a loaded model directory, on this
        model's device) into :attr:`external` (a plain dict: never trained, never saved). A model
        that must check what it gets overrides this and calls it."""
        self.external[name] = bundle

    @classmethod
    def training_tokenizer(cls, config: ModelConfig):
        """A tokenizer the model brings (e.g. a pretrained decoder's), or None: textvae trains a
        sentencepiece model on the corpus."""
        return None

    def save_parts(self, directory: Path) -> None:
        """Files besides the weights that a reload needs (e.g. a pretrained model's architecture)."""

    @classmethod
    def load_parts(cls, config: ModelConfig, directory: Path):
        """``(config, tokenizer)`` to rebuild the model from ``directory``: the config pointing at the
        parts :meth:`save_parts` wrote, and the tokenizer if the model brings its own (else None)."""
        return config, None

    # ------------------------------------------------------------------ inference

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Codes:
        """The posterior: ``z`` (a sample in training), ``mean`` and, for VAEs, ``logvar``."""
        raise TextvaeError(f"a {self.type_name} model has no latent code to encode into")

    def reconstruct(self, batch: Batch, max_len: int) -> torch.Tensor:
        """Greedy reconstruction from the posterior mean, ``(B, max_len)`` token ids (models with a code)."""
        raise TextvaeError(f"a {self.type_name} model has no latent code to reconstruct from")

    def label_logits(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The model's own label classifier, logits ``(B, K)`` (models with ``has_classifier``)."""
        raise TextvaeError(f"a {self.type_name} model has no label classifier of its own")

    def training_labels(self) -> Optional[int]:
        """How many training labels the model was trained with, where it keeps count (a
        semi-supervised model hides the others); None otherwise."""
        return None

    def input_limit(self) -> Optional[int]:
        """The longest input (tokens) the networks take, or None."""
        return None

    def prior_noise(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` draws of the prior's noise, ``(n, noise dims)`` on the model's device: N(0, I) of
        the code's size unless a model maps other noise to codes (:meth:`codes_from_noise`)."""
        if not self.has_prior:
            raise TextvaeError(f"a {self.type_name} model has no prior to sample codes from")
        device = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def codes_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, latent_dim)`` for prior noise (the identity for an N(0, I) prior)."""
        return noise

    def with_style(self, codes: torch.Tensor, target: int) -> torch.Tensor:
        """``codes`` with their style part set to style ``target`` (label-conditioned generation,
        ``report samples --style``), for models whose code has a style part."""
        raise TextvaeError(f"a {self.type_name} model's code has no style part to set")

    def code_part_mask(self, part: str) -> torch.Tensor:
        """Which code dimensions make up ``part``: ``all``, or the ``style`` / ``content`` half of a
        split (style/content) code, whose style part comes first; a bool mask ``(latent_dim,)``."""
        mask = torch.ones(self.latent_dim, dtype=torch.bool)
        if part == "all":
            return mask
        if part not in ("style", "content"):
            raise TextvaeError(f"unknown code part {part!r}; choose all, style or content")
        if not self.style_dim:
            raise TextvaeError(f"--part {part} needs a model with a style/content split latent; "
                               f"a {self.type_name} model has one code")
        mask[:] = part == "content"
        mask[:self.style_dim] = part == "style"
        return mask

    def prior_codes(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` codes from the prior, ``(n, latent_dim)`` (models with ``has_prior``)."""
        return self.codes_from_noise(self.prior_noise(n, generator))

    # ------------------------------------------------------------------ transfer (can_transfer)

    def other_styles(self, labels: torch.Tensor) -> torch.Tensor:
        """A random style different from each label (the other one when there are two): the targets
        of the transfers a style-transfer model trains on."""
        shift = torch.randint(1, self.num_labels, labels.shape, device=labels.device)
        return (labels + shift) % self.num_labels

    def transfer_plan(self, batch: Batch, target: int, strength: float) -> DecodePlan:
        """How to decode ``batch`` in style ``target``: groups of rows, each with its decoder and
        what that decoder conditions on."""
        raise TextvaeError(f"a {self.type_name} model has no style representation, so it cannot transfer")

    def check_target(self, target: int, label_names: Sequence[str]) -> None:
        """Refuse a target style the model cannot write (before any decoding)."""

    def rerank_scorers(self, target: int, style: bool, cycle: bool):
        """``(style_log_prob, rebuild_nll)`` for :mod:`textvae.transfer.rerank`: the target style's
        log-probability of a batch of candidates, and the summed NLL of rebuilding each source
        from its ``k`` candidates. Only those asked for are needed; a model that cannot give one
        says why (TextvaeError)."""
        raise TextvaeError(f"a {self.type_name} model cannot rerank transfers")
