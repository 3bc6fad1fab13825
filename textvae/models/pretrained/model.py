"""Pretrained backbones through `transformers`: an Optimus-style sentence VAE (Li et al. 2020,
"Optimus: Organizing Sentences via Pre-trained Modeling of a Latent Space").

Any local encoder (BERT-like, ``AutoModel``) gives the sentence vector, textvae's latent heads
turn it into ``z``, and any local causal LM (GPT-2-like, ``AutoModelForCausalLM``) decodes with
``z`` as a prefix embedding (``decoder.latent_init``) and/or added to every input embedding
(``decoder.latent_concat``), Optimus' "memory" and "embedding" injections in a form that works
for every causal LM. The training objectives, schedules, diagnostics and decoding are those of
:class:`~textvae.models.seq2seq.model.SentenceVAE`, which this class extends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import torch
from torch import nn

from textvae.config import DecoderConfig
from textvae.data.hf_tokenizer import OFFSET, HFTokenizer
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from textvae.errors import TextvaeError
from textvae.models.components.decoders import Decoder
from textvae.models.components.encoders import pool
from textvae.models.components.latent import build_latent
from textvae.models.pretrained.config import PretrainedConfig
from textvae.models.registry import register_model
from textvae.models.seq2seq.model import SentenceVAE

State = Dict[str, torch.Tensor]
ENCODER_DIR, DECODER_DIR = "encoder", "decoder"


def _load(kind: str, path: str):
    """A model with its weights from ``path``, or only its architecture when ``path`` holds no weights
    (a textvae checkpoint stores the weights of the whole model in one file)."""
    import transformers

    auto = transformers.AutoModelForCausalLM if kind == "decoder" else transformers.AutoModel
    try:
        if any(Path(path).glob("*.safetensors")) or any(Path(path).glob("*.bin")) or not Path(path).exists():
            return auto.from_pretrained(path)
        return auto.from_config(transformers.AutoConfig.from_pretrained(path))
    except (OSError, ValueError) as exc:
        raise TextvaeError(f"cannot load the pretrained {kind} from {path}: {str(exc).splitlines()[0]}") from None


class PretrainedDecoder(Decoder):
    """A causal LM behind textvae's decoder interface (``forward``, ``step``, ``select``)."""

    def __init__(self, lm: nn.Module, tokenizer: HFTokenizer, latent_dim: int, config: DecoderConfig):
        super().__init__()
        self.lm = lm
        self.tokenizer = tokenizer
        width = lm.get_input_embeddings().embedding_dim
        self.prefix = nn.Linear(latent_dim, width) if config.latent_init and latent_dim else None
        self.latent_add = nn.Linear(latent_dim, width) if config.latent_concat and latent_dim else None
        special = tokenizer.special_model_ids
        # Output column k of textvae's vocabulary is column vocab_index[k] of the LM's.
        index = [special[PAD_ID], special[UNK_ID], special[BOS_ID], special[EOS_ID]]
        index += list(range(len(tokenizer) - OFFSET))
        self.register_buffer("vocab_index", torch.tensor(index), persistent=False)
        never = torch.zeros(len(index))
        never[[PAD_ID, BOS_ID]] = float("-inf")  # padding and BOS are never predicted
        never[OFFSET:][torch.tensor(sorted(set(special.values())))] = float("-inf")  # only via 0-3
        self.register_buffer("never", never, persistent=False)

    def forward(self, tokens: torch.Tensor, z: torch.Tensor, state: State = None) -> torch.Tensor:
        x = self.lm.get_input_embeddings()(self.tokenizer.to_model_ids(tokens))
        if self.latent_add is not None:
            x = x + self.latent_add(z)[:, None, :]
        if self.prefix is not None:
            x = torch.cat([self.prefix(z)[:, None, :], x], dim=1)
        logits = self.lm(inputs_embeds=x).logits
        if self.prefix is not None:
            logits = logits[:, 1:]
        return logits.index_select(-1, self.vocab_index) + self.never

    def initial_state(self, z: torch.Tensor, cache: bool = False, static: bool = False) -> State:
        """Re-reads the prefix each step (no key/value cache for wrapped LMs yet)."""
        return {"z": z, "tokens": torch.zeros(z.size(0), 0, dtype=torch.long, device=z.device)}

    def step(self, state: State, last_tokens: torch.Tensor) -> Tuple[torch.Tensor, State]:
        tokens = torch.cat([state["tokens"], last_tokens[:, None]], dim=1)
        logits = self(tokens, state["z"])[:, -1]
        return logits.float(), {"z": state["z"], "tokens": tokens}



@register_model("pretrained", config=PretrainedConfig)
class PretrainedVAE(SentenceVAE):
    """A sentence VAE (or LM, with ``latent.type: none``) with a pretrained encoder and causal-LM decoder."""

    test_overrides = ("model.pretrained.encoder={bert}", "model.pretrained.decoder={gpt}", "model.latent.type=gaussian",
                      "model.latent.dim=8")

    def build(self, vocab_size: int, tokenizer: HFTokenizer) -> None:
        config = self.config
        self.tokenizer = tokenizer
        if self.has_latent:
            from transformers import AutoTokenizer

            self.encoder = _load("encoder", config.pretrained.encoder)
            self.encoder_tokenizer = AutoTokenizer.from_pretrained(config.pretrained.encoder)
            self.latent = build_latent(self.encoder.config.hidden_size, config.latent)
        self.decoder = PretrainedDecoder(_load("decoder", config.pretrained.decoder), tokenizer,
                                         self.latent_dim, config.decoder)

    @classmethod
    def training_tokenizer(cls, config: PretrainedConfig) -> HFTokenizer:
        """The pretrained decoder's own tokenizer."""
        return HFTokenizer.from_pretrained(config.pretrained.decoder)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Re-tokenise the sentences for the encoder (its vocabulary differs from the decoder's)."""
        if not self.has_latent:
            empty = torch.zeros(src.size(0), 0, device=src.device, dtype=self.decoder.lm.dtype)
            return {"z": empty, "mean": empty}
        texts = self.tokenizer.decode([row[:n] for row, n in zip(src.tolist(), lengths.tolist())])
        inputs = self.encoder_tokenizer(texts, padding=True, return_tensors="pt").to(src.device)
        states = self.encoder(**inputs).last_hidden_state
        if self.config.pretrained.pooling == "mean":
            sentence = pool(states, inputs["attention_mask"].sum(1), "mean")
        else:
            sentence = states[:, 0]
        return self.latent(sentence)

    def save_parts(self, directory: Path) -> None:
        """Architectures and tokenizers, so that a checkpoint rebuilds without the original paths."""
        self.decoder.lm.config.save_pretrained(str(directory / DECODER_DIR))
        self.tokenizer.save(directory / DECODER_DIR)
        if self.has_latent:
            self.encoder.config.save_pretrained(str(directory / ENCODER_DIR))
            self.encoder_tokenizer.save_pretrained(str(directory / ENCODER_DIR))

    @classmethod
    def load_parts(cls, config: PretrainedConfig, directory: Path):
        """The architectures and tokenizers saved beside the weights."""
        config.pretrained.decoder = str(directory / DECODER_DIR)
        if config.pretrained.encoder:
            config.pretrained.encoder = str(directory / ENCODER_DIR)
        return config, HFTokenizer.load(directory / DECODER_DIR)
