"""The config of ``model.type: multitask``: a sentence autoencoder with extra decoders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from textvae.config import SentenceModelConfig


@dataclass
class DecodersConfig:
    """The decoders besides reconstruction, each by its weight (0: not built).

    ``pos``: the sentence's part-of-speech sequence (tags from ``pos_tags``); ``translation``: the
    sentence in the synthetic pivot language of the back-translation pipeline
    (:func:`textvae.data.synthetic_mt.to_pivot`: every word respelt, neighbouring words swapped),
    computed exactly from the sentence."""

    pos: float = 0.0
    translation: float = 0.0

    def check(self):
        for name in ("pos", "translation"):
            if getattr(self, name) < 0:
                yield name, f"must not be negative, got {getattr(self, name)}"


@dataclass
class MultitaskConfig(SentenceModelConfig):
    """The sentence model's sections (the reconstruction decoder is ``decoder``) plus ``decoders``
    and, for the POS decoder, ``pos_tags``: ``factors`` (the factor corpus' grammar),
    ``spacy:PATH`` (a local spaCy pipeline, run over the training sentences) or a ``word<TAB>TAG``
    lexicon file written with the user's tagger (Universal POS tags); see textvae.data.tags."""

    type: str = "multitask"
    decoders: DecodersConfig = field(default_factory=DecodersConfig)
    pos_tags: Optional[str] = None

    def check(self):
        yield from super().check()
        if self.latent.type == "none":
            yield "latent.type", "a multitask autoencoder needs a code (deterministic or gaussian)"
        if self.decoders.pos > 0 and not self.pos_tags:
            yield "pos_tags", ("the POS decoder needs tags: 'factors' on the factor corpus, spacy:PATH (a local "
                               "spaCy pipeline), or a word<TAB>TAG lexicon file from your tagger")
        elif self.decoders.pos > 0:
            from textvae.data.tags import check_tag_spec

            problem = check_tag_spec(self.pos_tags)
            if problem:
                yield "pos_tags", problem
