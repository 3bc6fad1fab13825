"""Decoding latent codes into token ids with any strategy, in batches, on CPU or CUDA."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, fields
from typing import Iterator, List, Literal, Optional, Tuple

import torch

from textvae.data.tokenizer import PAD_ID
from textvae.decoding import cuda
from textvae.decoding.search import beam_search, greedy, length_normalised, sample, sample_tokens
from textvae.errors import TextvaeError, first_line
from textvae.runtime import compile_unavailable

log = logging.getLogger("textvae")


@dataclass
class DecodeOptions:
    """How to decode. ``strategy``: ``greedy``, ``beam`` (``beam_size``, ``length_penalty``,
    ``n_best``) or ``sample`` (``temperature``, ``top_k``, ``top_p``, ``seed``).

    ``samples`` (beam only): also draw that many samples per code (with the sampling options) and
    return them after the beam's ``n_best``, scored like beam hypotheses (log-probability under the
    model / length ** ``length_penalty``): a wider, more varied candidate pool for reranking.

    ``cache=False`` re-reads the whole prefix every step (the naive way; same tokens).
    ``amp`` autocast: ``auto`` = bf16 where supported on CUDA, off on CPU (``bf16`` there runs
    1.5x faster on CPUs with native bf16, docs/benchmarks.md, with slightly different tokens).
    ``compile``: ``torch.compile`` of the decoder step (dynamic shapes, compiled at the first
    batch; a compiler failure is a warning and decoding goes on eagerly); on CPU it saved about
    8% a step after a minute of compiling (docs/benchmarks.md), so it pays off on large inputs only.
    CUDA only: ``cuda_graphs`` (greedy and sampling at a fixed batch shape, captured once; it
    takes precedence over ``compile``), ``pin_memory`` for host copies.
    """

    strategy: Literal["greedy", "beam", "sample"] = "greedy"
    beam_size: int = 5
    length_penalty: float = 1.0
    n_best: int = 1
    samples: int = 0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: Optional[int] = 0
    max_len: Optional[int] = None  # default: longest input + 10, capped by the decoder
    batch_size: int = 256
    cache: bool = True
    amp: Literal["auto", "bf16", "fp16", "none"] = "auto"
    cuda_graphs: bool = True
    pin_memory: bool = True
    compile: bool = False

    def __post_init__(self):
        problems = []
        if self.strategy not in ("greedy", "beam", "sample"):
            problems.append(f"strategy must be greedy, beam or sample, got {self.strategy!r}")
        if self.beam_size < 1:
            problems.append(f"beam_size must be at least 1, got {self.beam_size}")
        if not 1 <= self.n_best <= max(self.beam_size, 1):
            problems.append(f"n_best must be between 1 and beam_size ({self.beam_size}), got {self.n_best}")
        if self.n_best > 1 and self.strategy != "beam":
            problems.append("n_best > 1 needs the beam strategy")
        if self.samples < 0:
            problems.append(f"samples must be 0 (off) or positive, got {self.samples}")
        if self.samples > 0 and self.strategy != "beam":
            problems.append("samples adds sampled candidates to a beam's: it needs the beam strategy")
        if not self.length_penalty >= 0:  # also refuses NaN
            problems.append(f"length_penalty must be 0 (raw log-probabilities) or positive, got {self.length_penalty}")
        if self.seed is not None and not 0 <= self.seed < 2 ** 32:
            problems.append(f"seed must be between 0 and 2**32 - 1 (or None), got {self.seed}")
        if self.temperature <= 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        if self.top_k < 0:
            problems.append(f"top_k must be 0 (off) or positive, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_len is not None and self.max_len < 1:
            problems.append(f"max_len must be at least 1, got {self.max_len}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be at least 1, got {self.batch_size}")
        if self.amp not in ("auto", "bf16", "fp16", "none"):
            problems.append(f"amp must be auto, bf16, fp16 or none, got {self.amp!r}")
        if problems:
            raise TextvaeError("decoding options: " + "; ".join(problems))

    @classmethod
    def from_kwargs(cls, **kwargs) -> "DecodeOptions":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TextvaeError(f"unknown decoding option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**kwargs)


def _max_len(decoder, requested: int) -> int:
    """``requested``, capped at the longest sequence the decoder can decode (its ``max_length``)."""
    return min(requested, decoder.max_length) if decoder.max_length else requested


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _rows(z) -> int:
    """Batch size of codes: a tensor, or a dict of batch-first tensors (e.g. encoder states)."""
    return next(iter(z.values())).size(0) if isinstance(z, dict) else z.size(0)


def _take(z, rows):
    return {k: v[rows] for k, v in z.items()} if isinstance(z, dict) else z[rows]


def device_of(z) -> torch.device:
    return next(iter(z.values())).device if isinstance(z, dict) else z.device


@torch.inference_mode()
def decode(decoder, z: torch.Tensor, options: DecodeOptions = DecodeOptions(),
           max_len: int = 30) -> Tuple[List[List[List[int]]], Optional[torch.Tensor]]:
    """Decode codes ``z`` ``(N, D)`` (or a dict of batch-first tensors the decoder conditions on)
    with ``decoder`` (``initial_state``/``step``/``select``).

    Returns, per code, its ``n_best`` token-id lists (EOS and padding removed; then its
    ``samples`` sampled ones), and the beam scores ``(N, n_best + samples)`` for beam search (None
    otherwise).
    """
    device = device_of(z)
    max_len = _max_len(decoder, options.max_len or max_len)
    results: List[List[List[int]]] = []
    scores: List[torch.Tensor] = []
    fast = (device.type == "cuda" and options.cuda_graphs and options.strategy != "beam" and options.cache
            and cuda.graphable(decoder))
    step = decoder.step
    if options.compile and not fast:
        reason = compile_unavailable(device)
        if reason:
            raise TextvaeError(f"decoding with compile: {reason}; decode without it")
        step = compiled_step(decoder)
    with cuda.autocast(device, options.amp, graphs=fast):
        for part in _chunks(_rows(z), options.batch_size):
            codes = _take(z, part)
            if fast:
                ids = _decode_static(decoder, codes, options, max_len, part.start)[:, None]
            elif options.strategy == "beam":
                state = decoder.initial_state(codes, cache=options.cache)
                ids, s = beam_search(step, decoder.select, state, _rows(codes), max_len,
                                     options.beam_size, options.length_penalty, options.n_best, device=device)
                if options.samples:
                    drawn, drawn_scores = _sampled_candidates(decoder, step, codes, options, max_len, part.start)
                    width = max(ids.size(-1), drawn.size(-1))
                    ids = torch.cat([_pad_to(ids, width), _pad_to(drawn, width)], dim=1)
                    s = torch.cat([s, drawn_scores.to(s.device)], dim=1)
                scores.append(s.float().cpu())
            else:
                state = decoder.initial_state(codes, cache=options.cache)
                if options.strategy == "greedy":
                    ids = greedy(step, decoder.select, state, _rows(codes), max_len, device=device)
                else:
                    seed = None if options.seed is None else options.seed + part.start
                    ids = sample(step, decoder.select, state, _rows(codes), max_len, device=device,
                                 temperature=options.temperature, top_k=options.top_k, top_p=options.top_p,
                                 seed=seed)
                ids = ids[:, None]
            host = cuda.to_host(ids, options.pin_memory).tolist()
            results.extend([_strip(seq) for seq in row] for row in host)
    return results, (torch.cat(scores) if scores else None)


def _pad_to(ids: torch.Tensor, width: int) -> torch.Tensor:
    """``(..., L)`` token ids padded with PAD to ``(..., width)``."""
    return torch.nn.functional.pad(ids, (0, width - ids.size(-1)), value=PAD_ID)


def _sampled_candidates(decoder, step, codes, options: DecodeOptions, max_len: int,
                        offset: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``options.samples`` samples per code, ``(B, samples, L)``, with their beam-comparable scores
    ``(B, samples)`` (see :class:`DecodeOptions`). The j-th sample of every code comes from its own
    pass, seeded by the codes' position and j, so the first j of more samples are the same j
    samples (``textvae tune`` reranks the first ones of one decode for every smaller count)."""
    rows, device = _rows(codes), device_of(codes)
    ids, scores = [], []
    for j in range(options.samples):
        log_prob = torch.zeros(rows, device=device)
        seed = None if options.seed is None else options.seed + offset + j * 2 ** 33
        drawn = sample(step, decoder.select, decoder.initial_state(codes, cache=options.cache), rows, max_len,
                       device=device, temperature=options.temperature, top_k=options.top_k, top_p=options.top_p,
                       seed=seed, log_prob=log_prob)
        ids.append(drawn)
        scores.append(length_normalised(log_prob, drawn, options.length_penalty))
    return torch.stack(ids, dim=1), torch.stack(scores, dim=1)


class CompiledStep:
    """``decoder.step`` through ``torch.compile`` (dynamic shapes: batch size and cache length
    change from step to step). The first call compiles; if the compiler fails, one warning, and
    this decoder's steps run eagerly from then on."""

    def __init__(self, decoder):
        self.eager = decoder.step
        self.compiled = torch.compile(decoder.step, dynamic=True)
        self.failed = False

    def __call__(self, state, last_tokens):
        if self.failed:
            return self.eager(state, last_tokens)
        try:
            return self.compiled(state, last_tokens)
        except Exception as exc:  # noqa: BLE001  (any compiler error; an error of the model recurs eagerly)
            reason = first_line(exc)
            log.warning("decoding: torch.compile failed (%s); decoding without it", reason)
            self.failed = True
            return self.eager(state, last_tokens)


_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # decoder -> its CompiledStep


def compiled_step(decoder) -> CompiledStep:
    """One compiled step per decoder, kept as long as the decoder lives."""
    if decoder not in _COMPILED:
        _COMPILED[decoder] = CompiledStep(decoder)
    return _COMPILED[decoder]


def _decode_static(decoder, codes: torch.Tensor, options: DecodeOptions, max_len: int, offset: int) -> torch.Tensor:
    """Greedy or sampling at a fixed batch shape through a captured CUDA graph."""
    n = _rows(codes)
    padded = codes
    if n < options.batch_size:  # one graph per batch size: pad the last batch with copies of row 0
        fill = torch.zeros(options.batch_size - n, dtype=torch.long, device=device_of(codes))
        padded = _take(codes, torch.cat([torch.arange(n, device=fill.device), fill]))
    state = decoder.initial_state(padded, cache=True, static=True)
    # the step does not depend on max_len (the Transformer cache always has max_length slots)
    step = cuda.graphed_step(decoder, state, options.batch_size, device_of(codes))
    if options.strategy == "greedy":
        def choose(lp):
            return lp.argmax(-1)
    else:
        generator = torch.Generator(device=device_of(codes))
        if options.seed is None:
            generator.seed()
        else:  # as the ordinary loop: each batch its own stream
            generator.manual_seed(options.seed + offset)

        def choose(lp):
            return sample_tokens(lp, options.temperature, options.top_k, options.top_p, generator)
    return cuda.static_decode(step, options.batch_size, max_len, device_of(codes), choose)[:n]


def _strip(seq: List[int]) -> List[int]:
    from textvae.data.tokenizer import until_eos

    return until_eos(seq)
