"""Typed experiment configs: YAML recipes in, dataclasses out.

A recipe is data, not code: one YAML file names components and hyperparameters,
and ``key.sub=value`` overrides on the command line change any field. Unknown keys
and values of the wrong type stop with one sentence naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Union

import yaml

from textvae.errors import TextvaeError


class _RecipeLoader(yaml.SafeLoader):
    """YAML with the 1.2 booleans: only true/false. YAML 1.1 also reads on/off/yes/no as
    booleans, which would turn ``amp: off`` into ``False``."""


_RecipeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_RecipeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_RecipeLoader)


@dataclass
class DataConfig:
    """Where the corpus comes from and which sentences to keep."""

    path: str = "synthetic"  # a release-format dir, a CSV/TSV/JSONL file, "synthetic[:N]" or a hub name
    text_column: str = "text"
    label_column: str = "label"
    label_names: Optional[List[str]] = None  # overrides the names found in the corpus
    max_tokens: int = 64  # longer lines (whitespace tokens) are skipped and counted


@dataclass
class TokenizerConfig:
    """A sentencepiece model trained on the training split (ids: pad 0, unk 1, bos 2, eos 3)."""

    type: Literal["unigram", "bpe", "word", "char"] = "unigram"
    vocab_size: int = 8000
    character_coverage: float = 1.0
    max_sentences: int = 1_000_000  # sentences sampled for training the tokenizer
    cache_dir: Optional[str] = None  # defaults to ~/.cache/textvae/tokenizers


@dataclass
class ScheduleConfig:
    """A value that changes with the training step (KL weight, word dropout rate, ...).

    ``constant``: always ``value``. ``linear``: ``start`` to ``value`` over ``steps`` after
    ``warmup`` steps. ``logistic``: the same ramp as a sigmoid centred at ``warmup + steps/2``
    (Bowman et al. 2016). ``exponential``: ``start`` to ``value`` geometrically (a constant factor
    per step; both positive), e.g. an annealed softmax temperature. ``cyclical``: ``cycles`` cycles
    of ``steps`` steps, each rising linearly for ``ratio`` of the cycle then holding ``value``
    (Fu et al. 2019), then ``value``.
    """

    type: Literal["constant", "linear", "logistic", "exponential", "cyclical"] = "constant"
    value: float = 1.0
    start: float = 0.0
    steps: int = 10000
    warmup: int = 0
    cycles: int = 4
    ratio: float = 0.5

    def check(self):
        if self.steps <= 0:
            yield "steps", f"must be a positive number of steps, got {self.steps}"
        if self.warmup < 0:
            yield "warmup", f"must not be negative, got {self.warmup}"
        if self.cycles <= 0:
            yield "cycles", f"must be positive, got {self.cycles}"
        if not 0 < self.ratio <= 1:
            yield "ratio", f"must be in (0, 1], got {self.ratio}"
        if self.type == "exponential" and not (self.start > 0 and self.value > 0):
            yield "start", f"and value must be positive for an exponential schedule, got {self.start} and {self.value}"


def at_least(config, bound: int, *names: str):
    """``(key, message)`` for each of ``names`` whose value in ``config`` is below ``bound``."""
    for name in names:
        value = getattr(config, name)
        if value < bound:
            yield name, f"must be at least {bound}, got {value}"


def constant(value: float) -> ScheduleConfig:
    return ScheduleConfig(type="constant", value=value)


def _check_layers(config):
    """Shared checks of encoder and decoder sizes."""
    if config.hidden_size <= 0 or config.num_layers <= 0:
        yield "hidden_size", "and num_layers must be positive"
    if config.type == "transformer" and config.hidden_size % config.num_heads:
        yield "num_heads", f"must divide hidden_size ({config.hidden_size}), got {config.num_heads}"


@dataclass
class EncoderConfig:
    type: Literal["gru", "lstm", "transformer"] = "gru"
    hidden_size: int = 256  # RNN state size, or the Transformer's model width
    num_layers: int = 1
    bidirectional: bool = True  # RNNs only
    dropout: float = 0.0
    num_heads: int = 4  # Transformer only
    ff_size: int = 1024  # Transformer only
    pooling: Literal["final", "mean", "max"] = "final"  # final: last RNN states (mean for Transformers)

    def check(self):
        return _check_layers(self)


@dataclass
class DecoderConfig:
    type: Literal["gru", "lstm", "transformer"] = "gru"
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    latent_init: bool = True  # RNN: z sets the initial state; Transformer: z is the cross-attention memory
    latent_concat: bool = True  # z joins every input embedding (concatenated for RNNs, added for Transformers)
    tie_embeddings: bool = False  # share the output projection with the input embeddings
    word_dropout: ScheduleConfig = field(default_factory=lambda: constant(0.0))  # decoder inputs -> <unk>
    num_heads: int = 4  # Transformer only
    ff_size: int = 1024  # Transformer only
    max_length: int = 256  # Transformer only: longest sequence (positions)

    def check(self):
        return _check_layers(self)


@dataclass
class BatchNormConfig:
    """Batch normalisation of the posterior mean (BN-VAE, Zhu et al. 2020).

    ``fixed``: scale ``gamma`` and learnable shift, which bounds the expected KL from below by
    ``dim * gamma^2 / 2``. ``learnable``: scale ``sqrt(tau + (1 - tau) * sigmoid(theta))`` per
    dimension with learnable ``theta``, so gamma^2 stays in (tau, 1).
    """

    type: Literal["none", "fixed", "learnable"] = "none"
    gamma: float = 0.5
    tau: float = 0.5

    def check(self):
        if self.type == "fixed" and self.gamma <= 0:
            yield "gamma", f"must be positive, got {self.gamma}"
        if self.type == "learnable" and not 0 < self.tau < 1:
            yield "tau", f"must be in (0, 1) for the learnable BN, got {self.tau}"


@dataclass
class LatentConfig:
    type: Literal["deterministic", "gaussian", "none"] = "deterministic"  # none: a language model
    dim: int = 64
    batch_norm: BatchNormConfig = field(default_factory=BatchNormConfig)

    def check(self):
        if self.type != "none" and self.dim <= 0:
            yield "dim", f"must be at least 1, got {self.dim}"


@dataclass
class FreeBitsConfig:
    """Free bits (Kingma et al. 2016): KL below ``nats`` is not penalised.

    ``batch``: on the batch-mean total KL; ``per_dim``: on each dimension's batch-mean KL.
    """

    type: Literal["none", "batch", "per_dim"] = "none"
    nats: float = 0.0

    def check(self):
        if self.nats < 0:
            yield "nats", f"must not be negative, got {self.nats}"


@dataclass
class DisentangleConfig:
    """A disentangling penalty on the code (``loss.disentangle``; see textvae.objectives.disentangle).
    ``type``: ``capacity`` (gamma x |KL - C|, C to ``c_max`` over ``c_steps``; replaces the KL term),
    ``tcvae`` (alpha x MI + beta x TC + dim_kl x dimension-wise KL; replaces the KL term),
    ``factorvae`` (gamma x a discriminator's TC estimate, ``discriminator_lr``), ``dip1`` / ``dip2``
    (lambda_od, lambda_d), ``covariance`` (gamma x L_Sigma), ``fstat`` (gamma x the F-statistic loss
    of the label on ``dims``)."""

    type: Literal["none", "capacity", "tcvae", "factorvae", "dip1", "dip2", "covariance", "fstat"] = "none"
    gamma: float = 1000.0  # capacity's weight (Burgess et al. use 1000); factorvae's and covariance's: set it
    c_max: float = 25.0
    c_steps: int = 10000
    alpha: float = 1.0
    beta: float = 6.0
    dim_kl: float = 1.0
    lambda_od: float = 10.0
    lambda_d: float = 10.0
    discriminator_lr: float = 1e-4
    dims: List[int] = field(default_factory=lambda: [0])  # fstat: the dimensions that separate the label

    def check(self):
        if self.type == "fstat" and (not self.dims or min(self.dims) < 0):
            yield "dims", f"must name code dimensions (0 or more), got {self.dims}"
        for name in ("gamma", "c_max", "alpha", "beta", "dim_kl", "lambda_od", "lambda_d"):
            if getattr(self, name) < 0:
                yield name, f"must not be negative, got {getattr(self, name)}"
        if self.discriminator_lr <= 0:
            yield "discriminator_lr", f"must be positive, got {self.discriminator_lr}"
        yield from at_least(self, 1, "c_steps")


@dataclass
class LossConfig:
    """The training objective around the reconstruction term."""

    beta: float = 1.0  # constant KL multiplier (beta-VAE)
    kl_weight: ScheduleConfig = field(default_factory=lambda: constant(1.0))  # KL annealing
    free_bits: FreeBitsConfig = field(default_factory=FreeBitsConfig)
    mmd_weight: float = 0.0  # InfoVAE / MMD-VAE (Zhao et al. 2019): weight of MMD(q(z), p(z))
    mmd_kernel: Literal["rbf", "imq"] = "imq"
    disentangle: DisentangleConfig = field(default_factory=DisentangleConfig)

    def check(self):
        if self.beta < 0 or self.mmd_weight < 0:
            yield "beta", "and mmd_weight must not be negative"


@dataclass
class NoiseConfig:
    """Input corruption for denoising autoencoders (applied to encoder inputs while training)."""

    word_dropout: float = 0.0  # replace tokens by <unk>
    token_drop: float = 0.0  # delete tokens
    shuffle_window: float = 0.0  # local shuffle: a token moves at most this many places (Lample et al. 2018)


# --------------------------------------------------------------------------- model configs
#
# Each model type has its own config dataclass (next to the model, in textvae/models/<name>/),
# a subclass of ModelConfig. A model registers it (textvae.models.registry.register_model), and
# ``model.type`` in a recipe picks which class reads the ``model`` section, so a model's saved
# config holds only its own sections. This module is the bottom layer: it keeps the table of
# registered types but never imports the models; importing :mod:`textvae.models` registers the
# built-in ones.

MODEL_CONFIGS: Dict[str, type] = {}
DEFAULT_MODEL_TYPE = "seq2seq"


@dataclass
class ModelConfig:
    """What every model config has: its registered ``type``."""

    type: str = DEFAULT_MODEL_TYPE

    def check(self):
        return ()


@dataclass
class SentenceModelConfig(ModelConfig):
    """Embedding -> encoder -> latent head -> decoder, with the sentence-VAE objective around it
    (the sections the autoencoder / VAE / LM family and the models built on it share)."""

    embedding_dim: int = 256
    dropout: float = 0.0  # on embeddings and decoder outputs
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    latent: LatentConfig = field(default_factory=LatentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)

    def check(self):
        if self.decoder.tie_embeddings and self.decoder.hidden_size != self.embedding_dim:
            yield "decoder.tie_embeddings", (f"needs decoder.hidden_size ({self.decoder.hidden_size}) equal to "
                                             f"embedding_dim ({self.embedding_dim})")
        yield from check_latent_terms(self)


def check_latent_terms(config):
    """The rules between a config's ``latent`` and ``loss`` sections."""
    kind = config.loss.disentangle.type
    if kind not in ("none", "covariance", "fstat") and config.latent.type != "gaussian":
        yield "loss.disentangle.type", (f"{kind} needs a Gaussian code (latent.type gaussian); this model's is "
                                        f"{config.latent.type}")
    if kind in ("covariance", "fstat") and config.latent.type == "none":
        yield "loss.disentangle.type", f"{kind} needs a code (latent.type gaussian or deterministic)"
    if kind == "fstat" and max(config.loss.disentangle.dims) >= config.latent.dim:
        yield "loss.disentangle.dims", f"must be below latent.dim ({config.latent.dim}), got {config.loss.disentangle.dims}"
    if config.latent.type == "none" and (config.loss.mmd_weight > 0 or config.loss.free_bits.type != "none"):
        yield "loss", "has latent terms but latent.type is none (a language model)"
    if config.latent.type != "gaussian" and config.latent.batch_norm.type != "none":
        yield "latent.batch_norm", "needs latent.type gaussian"


def register_model_config(name: str, cls: type) -> None:
    """Make ``model.type: name`` read the ``model`` section with ``cls`` (a ModelConfig subclass)."""
    if not (isinstance(cls, type) and issubclass(cls, ModelConfig) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"the config of model type {name!r} must be a ModelConfig dataclass, got {cls!r}")
    MODEL_CONFIGS[name] = cls


def model_config_class(name: Any, where: str = "model.type") -> type:
    """The config class registered for model type ``name``."""
    if not MODEL_CONFIGS:
        raise TextvaeError("no model types are registered; import textvae.models (it registers the built-in ones) "
                           "before reading a recipe")
    if name not in MODEL_CONFIGS:
        choices = ", ".join(repr(k) for k in sorted(MODEL_CONFIGS))
        raise TextvaeError(f"recipe key '{where}' must be one of {choices}, got {name!r}")
    return MODEL_CONFIGS[name]


def default_model_config() -> ModelConfig:
    return model_config_class(DEFAULT_MODEL_TYPE)()


@dataclass
class EarlyStoppingConfig:
    metric: Optional[str] = None  # a dev metric, e.g. "loss" or "recon_acc"; None keeps the last model
    mode: Literal["min", "max"] = "min"
    patience: int = 0  # evaluations without improvement before stopping; 0 never stops early


@dataclass
class TrainConfig:
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0  # max gradient norm; 0 disables clipping
    max_tokens: int = 4096  # token budget per batch (padded tokens, source side)
    max_sentences: int = 256  # and at most this many sentences per batch
    # length: sentences of similar length share a batch (little padding); random: a batch is a random
    # draw, as objectives that estimate the aggregate posterior from a batch assume (FactorVAE, beta-TCVAE,
    # DIP-VAE, L_Sigma, MMD): length-bucketed batches hide the dependence that goes through the length
    batching: Literal["length", "random"] = "length"
    grad_accum: int = 1  # batches per optimizer step
    max_steps: Optional[int] = None
    max_epochs: Optional[int] = None
    max_minutes: Optional[float] = None  # stop cleanly and save after this much wall clock
    eval_every: int = 500  # steps between dev evaluations (and at the end)
    eval_max_sentences: Optional[int] = 2000  # dev sentences used for decoding metrics
    eval_transfer_sentences: int = 500  # style-transfer models: dev sentences transferred at each eval (0: off)
    checkpoint_every: int = 500  # steps between resumable checkpoints
    log_every: int = 50
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16/fp16 on CUDA, bf16 on CPUs with native bf16
    device: str = "auto"  # auto, cpu, cuda, cuda:1, ...
    # torch.compile of the model's training forward: on, off, or auto (off until benchmarks/
    # train_throughput.py --compile measures a gain on this kind of device; see docs/benchmarks.md)
    compile: Literal["auto", "on", "off"] = "auto"
    threads: Optional[int] = None  # torch CPU threads; None leaves torch's default
    # start from a trained model's weights (a model or run directory, or hf://OWNER/NAME) and its
    # tokenizer; init_parts names the parts copied (parameter-name prefixes such as encoder,
    # decoder, embedding; "all": every parameter the two models share by name and shape)
    init_from: Optional[str] = None
    init_parts: List[str] = field(default_factory=lambda: ["all"])

    def check(self):
        yield from at_least(self, 1, "max_tokens", "max_sentences", "grad_accum", "eval_every", "checkpoint_every",
                            "log_every")
        for key in ("max_steps", "max_epochs", "eval_max_sentences", "threads"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                yield key, f"must be at least 1 (or null), got {getattr(self, key)}"
        if self.max_minutes is not None and self.max_minutes <= 0:
            yield "max_minutes", f"must be positive (or null), got {self.max_minutes}"
        if self.lr < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            yield "lr", "weight_decay and grad_clip must not be negative"
        if not self.init_parts or not all(isinstance(p, str) and p for p in self.init_parts):
            yield "init_parts", f"must be a list of part names (or [all]), got {self.init_parts}"


@dataclass
class TransferConfig:
    """The model's own transfer settings, used when a command or call does not set them (null: the
    built-in default: strength 1, greedy). ``textvae tune`` writes dev-tuned settings into the model
    directory (``transfer_defaults.json``), and those come before the recipe's."""

    strength: Optional[float] = None  # split-latent models: how far the style code moves; back-translation: guidance
    strategy: Optional[Literal["greedy", "beam", "sample"]] = None
    beam_size: Optional[int] = None
    length_penalty: Optional[float] = None
    samples: Optional[int] = None  # beam + reranking: sampled candidates per sentence added to the beam's
    top_p: Optional[float] = None  # nucleus threshold of sampling (and of the sampled candidates)
    pool_strengths: Optional[List[float]] = None  # beam + reranking: strengths whose candidates join the pool
    rerank: Optional[float] = None  # beam: weight of the model's own style classifier
    rerank_cycle: Optional[float] = None  # beam: weight of rebuilding the source from the candidate
    rerank_lm: Optional[float] = None  # beam: weight of a language model's per-token log-probability
    lm: Optional[str] = None  # the language-model directory for rerank_lm
    scorer: Optional[str] = None  # beam: a classifier directory that rerank asks instead of the model's own

    def check(self):
        for key in ("strength", "length_penalty", "rerank", "rerank_cycle", "rerank_lm"):
            value = getattr(self, key)
            if value is not None and not math.isfinite(value):
                yield key, f"must be a finite number (or null), got {value}"
        for key in ("length_penalty", "rerank", "rerank_cycle", "rerank_lm"):
            if getattr(self, key) is not None and getattr(self, key) < 0:
                yield key, f"must not be negative, got {getattr(self, key)}"
        if self.strength is not None and self.strength < 0:
            yield "strength", f"must not be negative (0: the source's own style, 1: the target's), got {self.strength}"
        if self.beam_size is not None and self.beam_size < 1:
            yield "beam_size", f"must be at least 1 (or null), got {self.beam_size}"
        if self.top_p is not None and not 0 < self.top_p <= 1:  # also refuses NaN
            yield "top_p", f"must be in (0, 1] (or null), got {self.top_p}"
        if self.samples is not None and self.samples < 0:
            yield "samples", f"must be 0 (off) or positive (or null), got {self.samples}"
        if self.samples and (self.strategy in ("greedy", "sample")
                             or not any((self.rerank, self.rerank_cycle, self.rerank_lm))):
            yield "samples", ("adds sampled candidates for reranking to choose among: it is only used with "
                              "strategy beam and a reranking weight (rerank, rerank_cycle or rerank_lm)")
        if any(not math.isfinite(v) or v < 0 for v in self.pool_strengths or ()):
            yield "pool_strengths", f"must be finite strengths, 0 or more, got {self.pool_strengths}"
        if self.pool_strengths and (self.strategy in ("greedy", "sample")
                                    or not any((self.rerank, self.rerank_cycle, self.rerank_lm))):
            yield "pool_strengths", ("adds candidates decoded at other strengths for reranking to choose among: it "
                                     "is only used with strategy beam and a reranking weight")
        if self.rerank_lm and not self.lm:
            yield "rerank_lm", "needs transfer.lm, the language-model directory"
        if self.scorer and not self.rerank:
            yield "scorer", "is only asked by style reranking; set transfer.rerank too"

    def settings(self) -> Dict[str, Any]:
        """The keys that are set."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass
class Config:
    name: str = "experiment"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=default_model_config)
    train: TrainConfig = field(default_factory=TrainConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# --------------------------------------------------------------------------- building


def from_dict(cls, data: Any, where: str = ""):
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types. A section
    the mapping names starts from the field's own default when it is of the same kind (e.g. a
    model's default ``cycle``), so the keys it leaves out keep the values the parent gives them,
    not the section class's."""
    if not isinstance(data, dict):
        raise TextvaeError(f"{where or 'the recipe'} must be a mapping of keys to values, got {_describe(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in fields:
            close = ", ".join(sorted(fields))
            raise TextvaeError(f"unknown recipe key '{path}'; valid keys here are: {close}")
        default = _default(fields[key])
        if dataclasses.is_dataclass(default) and isinstance(value, dict) and _same_kind(default, value):
            value = merge_recipes(_shallow(default), value)
        kwargs[key] = _coerce(hints[key], value, path)
    obj = cls(**kwargs)
    for key, message in getattr(obj, "check", lambda: ())():
        raise TextvaeError(f"recipe key '{where + '.' if where else ''}{key}' {message}")
    return obj


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _same_kind(default, value: Dict[str, Any]) -> bool:
    """Whether a recipe section continues its default: the same ``type`` (a schedule, a model), or
    a section without one."""
    kind = getattr(default, "type", None)
    return value.get("type", kind) == kind


def _shallow(obj) -> Dict[str, Any]:
    """A dataclass as a mapping of its fields (nested sections as mappings too)."""
    return {f.name: (_shallow(getattr(obj, f.name)) if dataclasses.is_dataclass(getattr(obj, f.name))
                     else getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is ModelConfig:  # the class that model.type names
        kind = value.get("type", DEFAULT_MODEL_TYPE) if isinstance(value, dict) else None
        return from_dict(model_config_class(kind, f"{path}.type") if kind is not None else ModelConfig, value, path)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin is Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for candidate in inner:
            try:
                return _coerce(candidate, value, path)
            except TextvaeError:
                continue
        raise TextvaeError(f"recipe key '{path}' expects {_type_name(tp)}, got {_describe(value)}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise TextvaeError(f"recipe key '{path}' must be one of {choices}, got {value!r}")
        return value
    if origin in (list, List, Sequence):
        if not isinstance(value, (list, tuple)):
            raise TextvaeError(f"recipe key '{path}' expects a list, got {_describe(value)}")
        return [_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None:
            if not math.isfinite(number):  # no recipe key means infinity or "not a number"
                raise TextvaeError(f"recipe key '{path}' must be a finite number, got {value}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif tp is Any:
        return value
    raise TextvaeError(f"recipe key '{path}' expects {_type_name(tp)}, got {_describe(value)}")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def parse_override(text: str) -> tuple:
    """Split ``a.b=value`` into (["a", "b"], value), the value read as YAML (``3``, ``true``, ``[1,2]``)."""
    if "=" not in text:
        raise TextvaeError(f"override '{text}' must look like key.subkey=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise TextvaeError(f"override '{text}' has no key before '='")
    try:
        value = _load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: Dict[str, Any], overrides: Sequence[str]) -> Dict[str, Any]:
    """Apply dotted ``key=value`` overrides to a nested dict (validation happens in :func:`from_dict`)."""
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict):
                path = ".".join(keys[: depth + 1])
                raise TextvaeError(f"override '{text}': recipe key '{path}' is a value, not a section")
            node = child
        node[keys[-1]] = value
    return data


def merge_recipes(base: Dict[str, Any], child: Dict[str, Any]) -> Dict[str, Any]:
    """``child`` on top of ``base``: sections merge key by key, values (and lists) replace."""
    out = dict(base)
    for key, value in child.items():
        out[key] = merge_recipes(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def _read_recipe(path: Path, chain: Sequence[Path] = ()) -> Dict[str, Any]:
    """One YAML recipe; a ``base: OTHER.yaml`` key (relative to the recipe's folder) starts it from
    that recipe, so a variant names only what it changes."""
    if path.is_dir():
        raise TextvaeError(f"recipe {path} is a directory; give a YAML recipe file (see recipes/)")
    if not path.is_file():
        raise TextvaeError(f"recipe {path} does not exist; see the recipes/ directory for examples")
    try:
        data = _load_yaml(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise TextvaeError(f"recipe {path} is not UTF-8 text (a binary file?); give a YAML recipe") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TextvaeError(f"recipe {path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise TextvaeError(f"recipe {path} must be a mapping of sections (data, model, train, ...)")
    data.setdefault("name", path.stem)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise TextvaeError(f"recipe {path}: 'base' must be the file name of another recipe, got {base!r}")
    base_path = (path.parent / base).resolve()
    if base_path in chain or base_path == path.resolve():
        raise TextvaeError(f"recipe {path}: 'base: {base}' leads back to itself")
    parent = _read_recipe(base_path, [*chain, path.resolve()])
    parent.pop("name", None)
    return merge_recipes(parent, data)


def load_recipe(path: Union[str, Path, None] = None, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML recipe (or start from defaults when ``path`` is None) and apply overrides."""
    data: Dict[str, Any] = _read_recipe(Path(path)) if path is not None else {}
    data = apply_overrides(data, overrides)
    return from_dict(Config, data)


def recipe_keys(cls) -> str:
    """The keys of config dataclass ``cls`` as docs/guide.md's recipe table lists them: nested
    sections as ``section.{a,b}``, choices in parentheses (tests/test_docs.py keeps the guide in
    step with the classes)."""

    def inner(tp) -> str:
        hints = typing.get_type_hints(tp)
        names = []
        for f in dataclasses.fields(tp):
            sub = hints[f.name]
            nested = dataclasses.is_dataclass(sub) and sub is not ScheduleConfig
            names.append(f"{f.name}.{{{inner(sub)}}}" if nested else f.name)
        return ",".join(names)

    hints = typing.get_type_hints(cls)
    parts = []
    for f in dataclasses.fields(cls):
        if f.name == "type" and issubclass(cls, ModelConfig):
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp) and tp is not ScheduleConfig:
            parts.append(f"`{f.name}.{{{inner(tp)}}}`")
        elif typing.get_origin(tp) is Literal:
            parts.append(f"`{f.name}` (" + ", ".join(f"`{a}`" for a in typing.get_args(tp)) + ")")
        else:
            parts.append(f"`{f.name}`")
    return ", ".join(parts)
