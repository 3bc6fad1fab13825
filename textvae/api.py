"""The Python API for trained models: ``textvae.load(path)`` and what it returns."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch

from textvae.data.batching import id_batches
from textvae.errors import TextvaeError
from textvae.modeldir import ModelBundle, load_model_dir
from textvae.models.classifier import check_scorer

log = logging.getLogger("textvae")


class TextModel:
    """A trained model with its tokenizer and style names, ready for inference."""

    def __init__(self, bundle: ModelBundle, device: torch.device):
        self.model = bundle.model
        self.config = bundle.config
        self.tokenizer = bundle.tokenizer
        self.label_names = bundle.label_names
        self.stats = bundle.stats
        self.path = bundle.path
        self.device = device
        from textvae.transfer.defaults import model_defaults

        self.transfer_defaults, self.transfer_defaults_source = model_defaults(self.path, self.config.transfer)
        self._default_models: dict = {}  # the transfer defaults' LM and style scorer, loaded once
        self._references: dict = {}  # reference codes of latent manipulation, per (corpus, size)

    def __repr__(self) -> str:
        defaults = ""
        if self.model.can_transfer:
            shown = ", ".join(f"{k}={v}" for k, v in self.transfer_defaults.items()) or "built-in"
            defaults = f", transfer defaults: {shown} ({self.transfer_defaults_source})"
        return (f"TextModel({self.config.name!r}, type={self.config.model.type!r}, "
                f"styles={self.label_names}, device={self.device}{defaults})")

    @property
    def max_tokens(self) -> int:
        """The longest input the model takes: its training limit, and what its networks take."""
        limit = self.model.input_limit()
        return min(self.config.data.max_tokens, limit) if limit else self.config.data.max_tokens

    def _token_ids(self, sentences: Sequence[str], warn: bool = True) -> List[List[int]]:
        """Token ids, truncated (with a warning) to :attr:`max_tokens`."""
        ids = self.tokenizer.encode(list(sentences))
        limit = self.max_tokens
        long = sum(len(x) > limit for x in ids)
        if long and warn:
            log.warning("%d sentence(s) longer than this model's maximum of %d tokens were truncated", long, limit)
        return [x[:limit] for x in ids]

    def batches(self, sentences: Sequence[str], max_sentences: int = 256, max_tokens: int = 8192):
        """``(positions, batch)`` of the sentences, on the model's device, by length."""
        for indices, batch in id_batches(self._token_ids(sentences), max_tokens=max_tokens,
                                         max_sentences=max_sentences):
            yield indices, batch.to(self.device)

    @torch.inference_mode()
    def encode(self, sentences: Union[str, Sequence[str]]) -> torch.Tensor:
        """Posterior means ``(N, latent_dim)`` in input order (a bare string: ``(latent_dim,)``).

        >>> model.encode(["the food was great ."]).shape   # doctest: +SKIP
        torch.Size([1, 32])
        """
        if isinstance(sentences, str):
            return self.encode([sentences])[0]
        codes: List[Optional[torch.Tensor]] = [None] * len(sentences)
        for indices, batch in self.batches(sentences):
            means = self.model.encode(batch.src, batch.lengths)["mean"]
            for row, i in enumerate(indices):
                codes[i] = means[row]
        return torch.stack(codes) if codes else torch.empty(0, self.model.latent_dim)

    @torch.inference_mode()
    def label_probabilities(self, sentences: Sequence[str]) -> torch.Tensor:
        """The model's own classifier's label probabilities ``(N, K)`` in input order (columns in
        ``label_names`` order), for models that have one (M2's q(y|x)).

        >>> model.label_probabilities(["the food was great ."])   # doctest: +SKIP
        tensor([[0.03, 0.97]])
        """
        if not self.model.has_classifier:
            raise TextvaeError(f"model {self.path} (a {self.config.model.type} model) has no label classifier of its own")
        out = torch.zeros(len(sentences), self.model.num_labels)
        for indices, batch in self.batches(sentences):
            out[indices] = self.model.label_logits(batch.src, batch.lengths).float().softmax(-1).cpu()
        return out

    @torch.inference_mode()
    def sentence_nll(self, sentences: Sequence[str]) -> torch.Tensor:
        """Per-token NLL (nats) of each sentence, end of sentence included, under a language model
        (a model trained with ``latent: none``, e.g. ``recipes/yelp_lm.yaml``); in input order."""
        if not self.model.is_language_model:
            raise TextvaeError(f"model {self.path} is not a language model (a {self.config.model.type} model with a "
                               "latent code); train one with latent type none, e.g. recipes/yelp_lm.yaml")
        from textvae.objectives.reconstruction import language_model_nll

        out = torch.zeros(len(sentences))
        for indices, batch in self.batches(sentences):
            nll = language_model_nll(self.model, batch).float().cpu()
            out[torch.as_tensor(indices)] = nll / (batch.lengths.cpu() + 1)
        return out

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor, lengths: Optional[Sequence[int]] = None, **options
               ) -> Union[List[str], List[List[str]]]:
        """Sentences decoded from latent ``codes`` ``(N, D)``, in order.

        ``options`` are :class:`textvae.decoding.DecodeOptions` fields (``strategy="beam"``,
        ``beam_size=5``, ``top_p=0.9``...). ``lengths`` (e.g. of the source sentences) sort the
        codes into batches of similar length and set the default maximum length. With
        ``n_best > 1`` each item is a list of that many sentences, best first.
        """
        from textvae.decoding import DecodeOptions, decode

        opts = DecodeOptions.from_kwargs(**options)
        if opts.samples:
            raise TextvaeError("samples adds candidates for transfer reranking to choose among; decoding codes "
                               "has no reranker: drop it (or use n_best with beam search)")
        n = codes.size(0)
        order = sorted(range(n), key=lambda i: lengths[i]) if lengths is not None else list(range(n))
        max_len = int(max(lengths)) * 2 + 5 if lengths else 30
        from textvae.decoding.cuda import to_device

        z = to_device(codes[order].detach(), self.device, opts.pin_memory)
        ids, _ = decode(self.model.decoder, z, opts, max_len=max_len) if n else ([], None)
        texts: List[List[str]] = [[]] * n
        for position, i in enumerate(order):
            texts[i] = [self.tokenizer.decode(seq) for seq in ids[position]]
        return [t[0] for t in texts] if opts.n_best == 1 else texts

    def reconstruct(self, sentences: Union[str, Sequence[str]], **options) -> Union[str, List[str], List[List[str]]]:
        """Reconstructions of ``sentences`` from their posterior means, in input order
        (greedy by default; any :class:`textvae.decoding.DecodeOptions` as keywords). A bare string
        is one sentence and gets one result back.

        >>> model.reconstruct(["the food was great ."])   # doctest: +SKIP
        ['the food was great .']
        """
        if isinstance(sentences, str):
            return self.reconstruct([sentences], **options)[0]
        sentences = list(sentences)
        if not self.model.latent_dim:
            hint = " (transfer a sentence to its own style instead)" if self.model.can_transfer else ""
            raise TextvaeError(f"model {self.path} has no latent code to reconstruct from{hint}")
        if not sentences:
            return []
        lengths = [len(ids) for ids in self._token_ids(sentences, warn=False)]
        return self.decode(self.encode(sentences), lengths, **options)

    def check_transfer(self, to: Optional[str] = None) -> None:
        """Refuse, in one line, a model that cannot transfer, or a style ``to`` it does not know."""
        if to is not None and to not in self.label_names:
            raise TextvaeError(f"unknown style '{to}'; this model knows: {', '.join(self.label_names)}")
        if not self.model.can_transfer:
            raise TextvaeError(f"model {self.path} ({self.config.model.type}) has no style representation, so it "
                               "cannot transfer; train a style-transfer recipe (a disentangled VAE or "
                               "back-translation model), or use --method traverse for a model with a code")

    def transfer_settings(self, strength: Optional[float] = None, rerank: Optional[float] = None,
                          rerank_cycle: Optional[float] = None, rerank_lm: Optional[float] = None, lm=None,
                          scorer=None, **decoding) -> dict:
        """Every transfer setting for a call that gives these (None: not given): the caller's over the
        model's own defaults (tuned by ``textvae tune``, or the recipe's) over the built-in ones,
        with the language model loaded when LM reranking is on and the style scorer when style
        reranking asks one (see :mod:`textvae.transfer.defaults`)."""
        from textvae.transfer.batch import check_pool
        from textvae.transfer.defaults import resolve

        if strength is not None and strength != 1.0 and not self.model.uses_strength:
            log.warning("strength %g has no effect on a %s model (it moves a split-latent model's style code and "
                        "guides a back-translation model's decoder); ignored", strength, self.config.model.type)
        settings = resolve(self.transfer_defaults, {"strength": strength, "rerank": rerank,
                                                    "rerank_cycle": rerank_cycle, "rerank_lm": rerank_lm,
                                                    "lm": lm, "scorer": scorer, **decoding})
        check_pool(self.model, settings["pool_strengths"], reranked=True)  # before any input is read
        settings["lm"] = self._other_model(settings["rerank_lm"], settings["lm"], lm is None, "lm",
                                           lambda path: load_language_model(path, self.device),
                                           "the language model", "--lm DIR or --rerank-lm 0")
        settings["scorer"] = self._other_model(settings["rerank"], settings["scorer"], scorer is None, "scorer",
                                               lambda path: path and load_style_scorer(path, self.label_names,
                                                                                       self.device),
                                               "the style scorer", "--scorer DIR or --rerank 0")
        if isinstance(settings["scorer"], TextModel):
            check_scorer(settings["scorer"], self.label_names)
        return settings

    def _other_model(self, weight: float, given, from_defaults: bool, key: str, load_it, what: str, fix: str):
        """The loaded model a reranker with ``weight`` asks (an LM, a style scorer): ``given`` as it is
        when loaded or unused, else loaded (``load_it(None)`` says what is missing, or returns None
        where the model's own scorer serves); the defaults' one is loaded once and kept."""
        if not weight or isinstance(given, TextModel):
            return given
        if not from_defaults or given is None:
            return load_it(given)  # refused before any decoding
        if key not in self._default_models:
            try:
                self._default_models[key] = load_it(given)
            except TextvaeError as exc:
                raise TextvaeError(f"this model's transfer defaults rerank with {what} {given}, which does not load "
                                   f"({exc}); pass {fix}") from None
        return self._default_models[key]

    def transfer(self, sentences: Union[str, Sequence[str]], to: str, strength: Optional[float] = None,
                 rerank: Optional[float] = None, rerank_cycle: Optional[float] = None,
                 rerank_lm: Optional[float] = None, lm=None, scorer=None, **options) -> Union[str, List]:
        """Rewrite ``sentences`` in style ``to`` (needs a style-transfer model), in input order.

        ``strength``: how far a split-latent model moves the style code (1: to the target style's
        mean); ``rerank`` / ``rerank_cycle`` / ``rerank_lm`` > 0 choose among beam candidates by the
        model's own style classifier (or the classifier ``scorer``, a loaded one or its path, e.g.
        trained with recipes/yelp_classifier.yaml), by how well they rebuild the source, and by the
        language model ``lm`` (a loaded language model or its path); ``options``:
        :class:`textvae.decoding.DecodeOptions` fields and ``pool_strengths`` (strengths whose beam
        candidates join the reranked pool, e.g. ``[1.1]``). What is not given comes from the model's
        transfer defaults (:attr:`transfer_defaults`, e.g. tuned by ``textvae tune``). A bare string is
        one sentence and gets one result back.

        >>> model.transfer(["the food was cold ."], to="positive")   # doctest: +SKIP
        ['the food was delicious .']
        """
        if isinstance(sentences, str):
            return self.transfer([sentences], to, strength, rerank, rerank_cycle, rerank_lm, lm, scorer, **options)[0]
        self.check_transfer(to)
        from textvae.transfer import transfer_sentences
        from textvae.transfer.defaults import DECODING_KEYS

        decoding = {key: options.pop(key) for key in DECODING_KEYS if key in options}
        settings = self.transfer_settings(strength, rerank, rerank_cycle, rerank_lm, lm, scorer, **decoding)
        return transfer_sentences(self.model, self.tokenizer, self.label_names, sentences, to, self.batches,
                                  **settings, **options)

    def _manipulation_paths(self, sentences: Sequence[str], to: str, steps: int, step_size: float, stay: float,
                            reference: Optional[str], per_style: int) -> List[torch.Tensor]:
        """The codes after each step of :func:`~textvae.transfer.latent_manipulation.move_codes`
        towards ``to``, with the reference codes encoded once per ``(reference, per_style)``."""
        from textvae.transfer.latent_manipulation import move_codes, reference_codes

        if not self.model.latent_dim:
            raise TextvaeError(f"model {self.path} has no latent code to move (e.g. a language model)")
        if to not in self.label_names:
            raise TextvaeError(f"unknown style '{to}'; this model knows: {', '.join(self.label_names)}")
        key = (reference, per_style)
        if self._references.get("key") != key:
            from textvae.data.corpus import load_corpus

            corpus = load_corpus(reference or self.config.data.path, splits=("train",))
            if list(corpus.label_names) != list(self.label_names):
                raise TextvaeError(f"the reference corpus has styles {list(corpus.label_names)}, the model "
                                   f"{self.label_names}")
            self._references = {"key": key, "codes": reference_codes(self, corpus.texts("train"),
                                                                     corpus.labels("train"), per_style)}
        if not sentences:
            return []
        return move_codes(self.encode(list(sentences)), self.label_names.index(to), self._references["codes"],
                          steps, step_size, stay)

    def manipulate(self, sentences: Union[str, Sequence[str]], to: str, steps: int = 50, step_size: float = 0.1,
                   stay: float = 0.01, reference: Optional[str] = None, per_style: int = 500, **options):
        """Transfer by moving each sentence's code towards ``to``'s reference codes and away from its own
        style's, then decoding (:mod:`textvae.transfer.latent_manipulation`): any model with a code, no
        style head needed. ``reference``: the corpus whose training sentences give the reference codes
        (default: the one the model was trained on); ``options``: decoding options."""
        if isinstance(sentences, str):
            return self.manipulate([sentences], to, steps, step_size, stay, reference, per_style, **options)[0]
        sentences = list(sentences)
        path = self._manipulation_paths(sentences, to, steps, step_size, stay, reference, per_style)
        if not sentences:
            return []
        lengths = [len(ids) for ids in self._token_ids(sentences, warn=False)]
        return self.decode(path[-1], lengths, **options)

    def manipulation_trajectory(self, sentences: Sequence[str], to: str, steps: int = 50, every: int = 5,
                                step_size: float = 0.1, stay: float = 0.01, reference: Optional[str] = None,
                                per_style: int = 500, **options) -> List[List[Dict]]:
        """The path of :meth:`manipulate` for each sentence: every ``every`` steps (and the last), the
        step, the distance moved (in units of the reference codes' spread, the kernel bandwidth) and
        the decoded sentence, as ``{"step", "distance", "sentence"}`` dicts."""
        from textvae.transfer.latent_manipulation import median_bandwidth

        sentences = list(sentences)
        if not sentences:
            return []
        path = self._manipulation_paths(sentences, to, steps, step_size, stay, reference, per_style)
        scale = median_bandwidth(self._references["codes"])
        lengths = [len(ids) for ids in self._token_ids(sentences, warn=False)]
        shown = sorted(set(range(0, steps + 1, max(1, every))) | {steps})
        decoded = self.decode(torch.cat([path[k] for k in shown]), lengths * len(shown), **options)
        out: List[List[Dict]] = [[] for _ in sentences]
        for n, k in enumerate(shown):
            distance = ((path[k] - path[0]).norm(dim=1) / scale).tolist()
            for i in range(len(sentences)):
                out[i].append({"step": k, "distance": distance[i], "sentence": decoded[n * len(sentences) + i]})
        return out


def load(path: Union[str, Path], device: Union[str, torch.device, None] = None) -> TextModel:
    """Load a model directory, a run directory (its ``model/``) or ``hf://OWNER/NAME``; ``device``
    defaults to CUDA when available. Returns a :class:`TextModel` (``encode``, ``reconstruct``,
    ``transfer``, ``decode``; its repr shows the styles and the transfer defaults).

    >>> model = textvae.load("runs/synthetic_ae")   # doctest: +SKIP
    """
    device = _device(device)
    return TextModel(load_model_dir(path, device=device), device)


def load_language_model(lm, device: Union[str, torch.device, None] = None) -> TextModel:
    """``lm`` (a loaded model or its path) checked to be a language model, for ``--rerank-lm``."""
    if lm is None:
        raise TextvaeError("language-model reranking needs a language model: --lm DIR, a textvae model trained with "
                           "latent type none (e.g. recipes/yelp_lm.yaml)")
    if not isinstance(lm, TextModel):
        lm = load(lm, device=device)
    lm.sentence_nll([])  # the one-line error for a model that is not a language model
    return lm


def load_style_scorer(scorer, label_names: Sequence[str], device: Union[str, torch.device, None] = None
                      ) -> TextModel:
    """``scorer`` (a loaded model or its path) checked to be a classifier of the styles
    ``label_names``, for style reranking by a classifier other than the transfer model's own."""
    if not isinstance(scorer, TextModel):
        scorer = load(scorer, device=device)
    check_scorer(scorer, label_names)
    return scorer


def _device(name: Union[str, torch.device, None]) -> torch.device:
    """``name`` as a torch device, refused in one line when this machine cannot run on it."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise TextvaeError(f"--device {name}: unknown device; use cpu, cuda, cuda:N or mps")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TextvaeError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise TextvaeError(f"--device {name}: this machine has only {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TextvaeError(f"--device {name}: MPS is not available on this machine")
    return device
