"""Search strategies over one ``step(state, last_tokens) -> (log_probs, state)`` function.

Finished sentences drop out of the batch, so the work shrinks as sentences end.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch

from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID

State = Dict[str, torch.Tensor]
StepFn = Callable[[State, torch.Tensor], Tuple[torch.Tensor, State]]
SelectFn = Callable[[State, torch.Tensor], State]


@torch.inference_mode()
def greedy(step: StepFn, select: SelectFn, state: State, batch_size: int, max_len: int,
           device=None, bos_id: int = BOS_ID, eos_id: int = EOS_ID) -> torch.Tensor:
    """Greedy decoding; returns ``(B, L)`` token ids, EOS included where reached, PAD after."""
    out = torch.full((batch_size, max_len), PAD_ID, dtype=torch.long, device=device)
    active = torch.arange(batch_size, device=device)
    last = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    for t in range(max_len):
        log_probs, state = step(state, last)
        last = log_probs.argmax(-1)
        out[active, t] = last
        alive = last != eos_id
        if not bool(alive.all()):
            keep = alive.nonzero(as_tuple=True)[0]
            if keep.numel() == 0:
                break
            active, last, state = active[keep], last[keep], select(state, keep)
    return out
