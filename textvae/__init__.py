"""textvae: sentence VAEs and text style transfer in PyTorch."""

from textvae._version import __version__

__all__ = ["__version__", "load"]


def load(path, device=None):
    """Load a trained model directory (or a run directory) for inference; see :mod:`textvae.api`."""
    from textvae.api import load as _load

    return _load(path, device=device)
