"""Local ``transformers`` models that evaluation can plug in (judge, fluency LM, sentence encoder)."""

from __future__ import annotations

from pathlib import Path

from textvae.errors import TextvaeError


def load_local(path: str, what: str, auto_class: str, device: str = "cpu"):
    """``(tokenizer, model)`` from a local directory, the model in eval mode on ``device``;
    ``auto_class`` names the ``transformers`` Auto class (e.g. ``AutoModelForCausalLM``)."""
    import transformers

    if not Path(path).exists():
        raise TextvaeError(f"{what} {path} does not exist; give a local transformers model directory")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        model = getattr(transformers, auto_class).from_pretrained(path).to(device).eval()
    except (OSError, ValueError) as exc:
        raise TextvaeError(f"cannot load the {what} from {path}: {str(exc).splitlines()[0]}") from None
    return tokenizer, model
