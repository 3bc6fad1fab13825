"""The Python API for trained models: ``textvae.load(path)`` and what it returns."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Union

import torch

from textvae.data.batching import bucket_batches, collate
from textvae.errors import TextvaeError
from textvae.training.checkpoint import ModelBundle, load_model_dir


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

    def __repr__(self) -> str:
        return (f"TextModel({self.config.name!r}, type={self.config.model.type!r}, "
                f"styles={self.label_names}, device={self.device})")

    def _batches(self, sentences: Sequence[str], max_tokens: int = 8192, max_sentences: int = 256):
        ids = self.tokenizer.encode(list(sentences))
        for indices in bucket_batches([len(s) for s in ids], max_tokens, max_sentences):
            yield indices, collate([ids[i] for i in indices], index=indices).to(self.device)

    @torch.inference_mode()
    def encode(self, sentences: Sequence[str]) -> torch.Tensor:
        """Posterior means ``(N, latent_dim)`` in input order."""
        codes: List[Optional[torch.Tensor]] = [None] * len(sentences)
        for indices, batch in self._batches(sentences):
            means = self.model.encode(batch.src, batch.lengths)["mean"]
            for row, i in enumerate(indices):
                codes[i] = means[row]
        return torch.stack(codes) if codes else torch.empty(0, self.model.latent_dim)

    @torch.inference_mode()
    def reconstruct(self, sentences: Sequence[str], max_len: Optional[int] = None) -> List[str]:
        """Greedy reconstructions of ``sentences`` from their posterior means, in input order."""
        out: List[str] = [""] * len(sentences)
        for indices, batch in self._batches(sentences):
            limit = max_len or int(batch.lengths.max()) * 2 + 5
            decoded = self.model.reconstruct(batch, max_len=limit).tolist()
            for row, i in enumerate(indices):
                out[i] = self.tokenizer.decode(decoded[row])
        return out

    def transfer(self, sentences: Sequence[str], to: str, **options) -> List[str]:
        """Rewrite ``sentences`` in style ``to`` (needs a style-transfer model)."""
        if to not in self.label_names:
            raise TextvaeError(f"unknown style '{to}'; this model knows: {', '.join(self.label_names)}")
        transfer = getattr(self.model, "transfer", None)
        if transfer is None:
            raise TextvaeError(f"model {self.path} ({self.config.model.type}, {self.config.model.latent.type} "
                               "latent) has no style representation, so it cannot transfer; train a "
                               "style-transfer recipe (a disentangled VAE or back-translation model)")
        return transfer(self, sentences, to=to, **options)


def load(path: Union[str, Path], device: Union[str, torch.device, None] = None) -> TextModel:
    """Load a model directory or run directory; ``device`` defaults to CUDA when available."""
    device = _device(device)
    return TextModel(load_model_dir(path, device=device), device)


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
