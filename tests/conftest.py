import os

import pytest
import torch
import transformers
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer

import textvae.models  # noqa: F401  (registers the model types recipes name)
from textvae.config import load_recipe
from textvae.data.synthetic import generate


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep tokenizer caches out of the user's home; shared within a test session."""
    monkeypatch.setenv("TEXTVAE_CACHE", str(tmp_path_factory.getbasetemp() / "textvae-cache"))


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """A test that trains with ``train.threads`` must not change the thread count of the tests
    after it (more threads than cores makes OpenMP spin and every later test crawl)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


TINY = [
    "data.path=synthetic:600",
    "tokenizer.vocab_size=200",
    "model.embedding_dim=32",
    "model.encoder.hidden_size=32",
    "model.decoder.hidden_size=32",
    "model.latent.dim=16",
    "train.max_tokens=512",
    "train.max_sentences=32",
    "train.eval_every=5",
    "train.checkpoint_every=5",
    "train.log_every=1",
    "train.eval_max_sentences=64",
    "train.max_minutes=null",
]


@pytest.fixture
def tiny_config():
    """A tiny synthetic autoencoder recipe that trains in seconds."""

    def make(*overrides):
        return load_recipe(os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ae.yaml"),
                           TINY + list(overrides))

    return make


TEXTS = [e.text for e in generate(400, seed=3)]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny random GPT-2, BERT and BERT classifier with tokenizers trained here, saved to disk."""
    root = tmp_path_factory.mktemp("pretrained")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXTS, vocab_size=400, special_tokens=["<|endoftext|>"])
    gpt_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>",
                                                   eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    gpt_tok.save_pretrained(root / "gpt")
    eos = gpt_tok.eos_token_id
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=len(gpt_tok), n_embd=32, n_layer=1, n_head=2, n_positions=64, bos_token_id=eos,
        eos_token_id=eos)).save_pretrained(root / "gpt")
    wordpiece = BertWordPieceTokenizer()
    wordpiece.train_from_iterator(TEXTS, vocab_size=300)
    bert_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]",
                                                    pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                                    mask_token="[MASK]")
    bert_tok.save_pretrained(root / "bert")
    transformers.BertModel(transformers.BertConfig(
        vocab_size=len(bert_tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=48, max_position_embeddings=64)).save_pretrained(root / "bert")
    transformers.BertForSequenceClassification(transformers.BertConfig(
        vocab_size=len(bert_tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=48, max_position_embeddings=64, id2label={0: "POSITIVE", 1: "NEGATIVE"},
        label2id={"POSITIVE": 0, "NEGATIVE": 1})).save_pretrained(root / "bert-classifier")
    bert_tok.save_pretrained(root / "bert-classifier")
    return root


IBT_RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_ibt_gru.yaml")
IBT_TINY = ["data.path=synthetic:800", "train.max_minutes=null", "train.eval_every=1000", "train.checkpoint_every=1000",
            "train.eval_max_sentences=20", "train.eval_transfer_sentences=0", "model.embedding_dim=16",
            "model.encoder.hidden_size=16", "model.decoder.hidden_size=32"]


@pytest.fixture(scope="session")
def tiny_ibt_run(tmp_path_factory):
    """A back-translation model trained 20 steps on 800 synthetic sentences (a run directory)."""
    from textvae.training import train

    out = tmp_path_factory.mktemp("tiny-ibt") / "run"
    train(load_recipe(IBT_RECIPE, IBT_TINY + ["train.max_steps=20"]), out)
    return out


@pytest.fixture(scope="session")
def tiny_lm_run(tmp_path_factory):
    """A GRU language model trained 10 steps on 600 synthetic sentences (a run directory): the
    fluency reward's and the distillation filter's LM."""
    from textvae.training import train

    out = tmp_path_factory.mktemp("tiny-lm") / "run"
    train(load_recipe(os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_lm.yaml"),
                      ["data.path=synthetic:600", "train.max_minutes=null", "train.max_steps=10", "train.eval_every=10",
                       "train.checkpoint_every=10", "model.embedding_dim=16", "model.decoder.hidden_size=32",
                       "train.eval_max_sentences=20"]), out)
    return out
