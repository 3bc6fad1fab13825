"""Search strategies over one ``step(state, last_tokens) -> (log_probs, state)`` function.

``log_probs`` may be unnormalised (logits): greedy, sampling and soft decoding do not depend on
a per-row constant, and beam search normalises only its candidates, so textvae's decoders skip
the vocabulary-wide log-softmax at every step.

Every strategy drives a decoder only through ``step`` (one position, cached state) and
``select(state, rows)`` (subset or reorder the batch), so RNN and Transformer decoders, cached or
not, share them. Finished sentences drop out of the batch, so the work shrinks as sentences end.
PAD and BOS are never generated.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch

from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID

State = Dict[str, torch.Tensor]
StepFn = Callable[[State, torch.Tensor], Tuple[torch.Tensor, State]]
SelectFn = Callable[[State, torch.Tensor], State]


TOPK_BLOCK = 128  # row_topk: block width of the first pass


def row_topk(x: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``x.topk(k, dim=-1)`` for a 2-d ``x`` with few ``k`` and wide rows, in about one pass.

    The k best entries of a row lie in the k blocks (of ``TOPK_BLOCK`` columns) with the largest
    maxima: block maxima take one vectorised pass (``amax``), then top-k runs on k x 128
    candidates per row. ``torch.topk`` over 9,518 columns is several times slower on CPU. Values
    are exactly topk's; among equal values the indices may differ.
    """
    rows, width = x.shape
    if width < max(8, 2 * k) * TOPK_BLOCK or not x.is_contiguous():
        return x.topk(k, dim=-1)
    full = width // TOPK_BLOCK
    maxima = x[:, :full * TOPK_BLOCK].view(rows, full, TOPK_BLOCK).amax(-1)
    if width > full * TOPK_BLOCK:
        maxima = torch.cat([maxima, x[:, full * TOPK_BLOCK:].amax(-1, keepdim=True)], dim=1)
    blocks = maxima.topk(k, dim=-1).indices  # (rows, k)
    columns = (blocks[..., None] * TOPK_BLOCK + torch.arange(TOPK_BLOCK, device=x.device)).view(rows, -1)
    outside = columns >= width  # the last block may be short
    values = x.gather(1, columns.clamp(max=width - 1)).masked_fill(outside, float("-inf"))
    best, where = values.topk(k, dim=-1)
    return best, columns.gather(1, where)


def _forbid_specials(log_probs: torch.Tensor) -> torch.Tensor:
    log_probs[:, PAD_ID] = float("-inf")
    log_probs[:, BOS_ID] = float("-inf")
    return log_probs


def _rowwise(choose: Callable[[torch.Tensor], torch.Tensor], step: StepFn, select: SelectFn, state: State,
             batch_size: int, max_len: int, device, bos_id: int, eos_id: int,
             log_prob: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One token per row per step, chosen by ``choose(log_probs)``; finished rows drop out. With
    ``log_prob`` (a ``(B,)`` tensor of zeros) each row's log-probability under the model (the
    unfiltered softmax, as beam search scores) is added into it."""
    out = torch.full((batch_size, max_len), PAD_ID, dtype=torch.long, device=device)
    active = torch.arange(batch_size, device=device)
    last = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    for t in range(max_len):
        log_probs, state = step(state, last)
        normaliser = log_probs.float().logsumexp(-1) if log_prob is not None else None
        last = choose(_forbid_specials(log_probs))
        if log_prob is not None:
            log_prob[active] += log_probs.float().gather(1, last[:, None])[:, 0] - normaliser
        out[active, t] = last
        alive = last != eos_id
        if not bool(alive.all()):
            keep = alive.nonzero(as_tuple=True)[0]
            if keep.numel() == 0:
                break
            active, last, state = active[keep], last[keep], select(state, keep)
    return out


@torch.inference_mode()
def greedy(step: StepFn, select: SelectFn, state: State, batch_size: int, max_len: int,
           device=None, bos_id: int = BOS_ID, eos_id: int = EOS_ID) -> torch.Tensor:
    """Greedy decoding; returns ``(B, L)`` token ids, EOS included where reached, PAD after."""
    return _rowwise(lambda lp: lp.argmax(-1), step, select, state, batch_size, max_len, device, bos_id, eos_id)


def filter_logits(log_probs: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0) -> torch.Tensor:
    """Temperature, then top-k (keep the k best), then top-p / nucleus (Holtzman et al. 2020:
    keep the smallest set of tokens whose probability reaches p); removed tokens get -inf."""
    logits = log_probs / max(temperature, 1e-6)
    if top_k > 0 and top_k < logits.size(-1):
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        remove = cumulative - sorted_logits.softmax(-1) >= top_p  # the token that crosses p stays
        logits = logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
    return logits


NUCLEUS_WIDTH = 1024  # top-p looks among this many best tokens first (a full sort only where they are not enough)


def draw(weights: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """One index per row with probability proportional to ``weights`` (>= 0), by inverse-CDF
    sampling: a cumulative sum and a binary search, 50x faster than ``torch.multinomial`` on CPU
    for vocabulary-sized rows."""
    cdf = weights.float().cumsum(-1)
    u = torch.rand(weights.size(0), 1, device=weights.device, generator=generator) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True)[:, 0].clamp_(max=weights.size(-1) - 1)


def sample_tokens(log_probs: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """One token per row from the temperature / top-k / top-p filtered distribution.

    Exactly the distribution of :func:`filter_logits`, computed without sorting the vocabulary:
    top-k and top-p work on the best tokens (``torch.topk``), and only rows whose nucleus is
    wider than :data:`NUCLEUS_WIDTH` tokens fall back to the full sort.
    """
    logits = log_probs.float() / max(temperature, 1e-6)
    vocab = logits.size(-1)
    k = top_k if 0 < top_k < vocab else 0
    if not k and top_p >= 1.0:
        return draw(logits.softmax(-1), generator)
    values, index = logits.topk(k or min(vocab, NUCLEUS_WIDTH), dim=-1)  # best first
    if top_p < 1.0:
        probs = values.softmax(-1) if k else (values - logits.logsumexp(-1, keepdim=True)).exp()
        cumulative = probs.cumsum(-1)
        values = values.masked_fill(cumulative - probs >= top_p, float("-inf"))  # the token that crosses p stays
        wide = cumulative[:, -1] < top_p  # the nucleus reaches past the candidates: sort those rows fully
        if not k and bool(wide.all()):
            return draw(filter_logits(logits, 1.0, 0, top_p).softmax(-1), generator)
        if not k and bool(wide.any()):
            rows = wide.nonzero(as_tuple=True)[0]
            tokens = index.gather(1, draw(values.softmax(-1), generator)[:, None])[:, 0]
            tokens[rows] = draw(filter_logits(logits[rows], 1.0, 0, top_p).softmax(-1), generator)
            return tokens
    return index.gather(1, draw(values.softmax(-1), generator)[:, None])[:, 0]


@torch.inference_mode()
def sample(step: StepFn, select: SelectFn, state: State, batch_size: int, max_len: int, device=None,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: Optional[int] = None,
           bos_id: int = BOS_ID, eos_id: int = EOS_ID, log_prob: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Ancestral sampling with temperature / top-k / top-p; reproducible for a given ``seed``. With
    ``log_prob`` (zeros, ``(B,)``), each sample's log-probability under the model is added into it."""
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device or "cpu").manual_seed(seed)

    def choose(log_probs):
        return sample_tokens(log_probs, temperature, top_k, top_p, generator)

    return _rowwise(choose, step, select, state, batch_size, max_len, device, bos_id, eos_id, log_prob)


def length_normalised(log_prob: torch.Tensor, tokens: torch.Tensor, length_penalty: float) -> torch.Tensor:
    """``log_prob / length ** length_penalty``, the length counted as beam search counts it (every
    token up to and including EOS: the non-PAD ones of ``tokens``, at least 1)."""
    return log_prob / (tokens != PAD_ID).sum(-1).clamp(min=1).float() ** length_penalty


@torch.inference_mode()
def beam_search(step: StepFn, select: SelectFn, state: State, batch_size: int, max_len: int,
                beam_size: int = 5, length_penalty: float = 1.0, n_best: int = 1, device=None,
                bos_id: int = BOS_ID, eos_id: int = EOS_ID) -> Tuple[torch.Tensor, torch.Tensor]:
    """Batched beam search: ``beam_size`` hypotheses per sentence advance together as rows of one
    batch; a finished hypothesis keeps its score (padding after EOS) and a sentence leaves the
    batch once all its hypotheses have finished. The final ranking divides each log-probability
    by length ** ``length_penalty`` (0: raw scores; 1: per-token average).

    Returns ``(tokens (B, n_best, L), scores (B, n_best))``, best first.
    """
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must be between 1 and beam_size ({beam_size}), got {n_best}")
    k = beam_size
    out = torch.full((batch_size, k, max_len), PAD_ID, dtype=torch.long, device=device)
    final = torch.zeros(batch_size, k, device=device)
    lengths_out = torch.ones(batch_size, k, device=device)
    state = select(state, torch.arange(batch_size, device=device).repeat_interleave(k))
    scores = torch.full((batch_size, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    active = torch.arange(batch_size, device=device)
    tokens = torch.zeros(batch_size * k, 0, dtype=torch.long, device=device)
    finished = torch.zeros(batch_size * k, dtype=torch.bool, device=device)
    last = torch.full((batch_size * k,), bos_id, dtype=torch.long, device=device)
    for t in range(max_len):
        log_probs, state = step(state, last)
        # The k best continuations of a sentence are among the k best of each of its hypotheses:
        # pick those per row first, then rank k * k candidates per sentence (no vocabulary-wide
        # additions or masks).
        width = min(k, log_probs.size(-1))
        log_probs = log_probs.float()
        normaliser = log_probs.logsumexp(-1, keepdim=True)  # steps return logits: normalise k candidates only
        cand_scores, cand_tokens = row_topk(_forbid_specials(log_probs), width)
        cand_scores = cand_scores - normaliser
        if bool(finished.any()):  # a finished hypothesis can only be continued by PAD, at no cost
            cand_scores[finished] = float("-inf")
            cand_scores[finished, 0] = 0.0
            cand_tokens[finished, 0] = PAD_ID
        n = active.numel()
        total = (scores.view(-1, 1) + cand_scores).view(n, k * width)
        scores, index = total.topk(k, dim=1)
        rows = (torch.arange(n, device=device)[:, None] * k + index // width).view(-1)
        last = cand_tokens.view(n, k * width).gather(1, index).view(-1)
        state = select(state, rows)
        tokens = torch.cat([tokens[rows], last[:, None]], dim=1)
        finished = finished[rows] | (last == eos_id)
        done = finished.view(n, k).all(1)
        if t == max_len - 1:
            done = torch.ones_like(done)
        if bool(done.any()):
            which = done.nonzero(as_tuple=True)[0]
            block = tokens.view(n, k, -1)[which]
            out[active[which], :, :block.size(-1)] = block
            final[active[which]] = scores[which]
            lengths_out[active[which]] = (block != PAD_ID).sum(-1).clamp(min=1).float()
            keep = (~done).nonzero(as_tuple=True)[0]
            if keep.numel() == 0:
                break
            keep_rows = (keep[:, None] * k + torch.arange(k, device=device)).view(-1)
            active, scores = active[keep], scores[keep]
            tokens, finished, last = tokens[keep_rows], finished[keep_rows], last[keep_rows]
            state = select(state, keep_rows)
    normalised = final / lengths_out ** length_penalty
    best = normalised.argsort(dim=1, descending=True, stable=True)[:, :n_best]
    return out.gather(1, best[..., None].expand(-1, -1, max_len)), normalised.gather(1, best)


def add_gumbel(logits: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``logits`` plus Gumbel(0, 1) noise: their softmax at a temperature is a Gumbel-softmax
    sample (Jang et al. 2017)."""
    uniform = torch.rand(logits.shape, device=logits.device, generator=generator).clamp(1e-10, 1 - 1e-7)
    return logits - torch.log(-torch.log(uniform))


def soft_decode(step_embedded: StepFn, embedding: torch.Tensor, state: State, batch_size: int,
                max_len: int, temperature: float = 1.0, gumbel: bool = False, hard: bool = False,
                generator: Optional[torch.Generator] = None, bos_id: int = BOS_ID,
                hidden: Optional[Callable[[State], torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
    """Differentiable decoding for training losses: at every step the next input is the expected
    embedding under the (Gumbel-)softmax of the logits (Hu et al. 2017; Gumbel-softmax, Jang et
    al. 2017); ``hard`` uses straight-through one-hot vectors. Gradients flow through all steps.

    Returns ``probs`` ``(B, L, V)``, the argmax ``tokens`` and a ``mask`` that is 1 up to and
    including the first argmax EOS; with ``hidden(state) -> (B, H)`` also ``hidden`` ``(B, L, H)``,
    what it reads from the state after each step (e.g. the decoder's hidden state, for professor
    forcing).
    """
    inputs = embedding[torch.full((batch_size,), bos_id, dtype=torch.long, device=embedding.device)]
    probs, tokens, states = [], [], []
    for _ in range(max_len):
        log_probs, state = step_embedded(state, inputs)
        if hidden is not None:
            states.append(hidden(state))
        logits = log_probs
        if gumbel:
            logits = add_gumbel(logits, generator)
        p = (logits / temperature).softmax(-1)
        token = p.argmax(-1)
        if hard:
            one_hot = torch.nn.functional.one_hot(token, p.size(-1)).to(p.dtype)
            p = one_hot + p - p.detach()
        probs.append(p)
        tokens.append(token)
        inputs = p.to(embedding.dtype) @ embedding
    probs_t, tokens_t = torch.stack(probs, 1), torch.stack(tokens, 1)
    ended = (tokens_t == EOS_ID).long().cumsum(1)
    mask = (ended == 0) | ((ended == 1) & (tokens_t == EOS_ID))
    out = {"probs": probs_t, "tokens": tokens_t, "mask": mask}
    if hidden is not None:
        out["hidden"] = torch.stack(states, 1)
    return out
