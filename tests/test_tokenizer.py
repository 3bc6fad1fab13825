import pickle

from textvae.config import TokenizerConfig
from textvae.data.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer, train_tokenizer

TEXTS = [f"the {noun} was {adj} ." for noun in ("food", "service", "pizza", "room", "staff")
         for adj in ("great", "bad", "good", "awful", "fine")] * 4


def test_special_ids_are_fixed(tmp_path):
    tok = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=60, cache_dir=str(tmp_path)))
    assert [tok.id_to_piece(i) for i in (PAD_ID, UNK_ID, BOS_ID, EOS_ID)] == ["<pad>", "<unk>", "<s>", "</s>"]
    ids = tok.encode("the pizza was great .")
    assert all(i > EOS_ID for i in ids)
    assert tok.decode([BOS_ID] + ids + [EOS_ID, 9, 9]) == "the pizza was great ."
    assert tok.decode([ids, ids]) == ["the pizza was great ."] * 2


def test_cache_is_reused_and_keyed_by_content(tmp_path):
    config = TokenizerConfig(vocab_size=60, cache_dir=str(tmp_path))
    first = train_tokenizer(TEXTS, config)
    assert len(list(tmp_path.glob("*.model"))) == 1
    second = train_tokenizer(TEXTS, config)
    assert second.model_proto == first.model_proto
    train_tokenizer(TEXTS + ["a brand new sentence here ."], config)
    assert len(list(tmp_path.glob("*.model"))) == 2


def test_small_corpus_gets_the_largest_vocabulary_it_supports(tmp_path):
    tok = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=5000, cache_dir=str(tmp_path)))
    assert 10 < len(tok) < 5000


def test_bpe_and_word_types(tmp_path):
    for kind in ("bpe", "word"):
        tok = train_tokenizer(TEXTS, TokenizerConfig(type=kind, vocab_size=40, cache_dir=str(tmp_path)))
        assert tok.decode(tok.encode("the food was bad .")) == "the food was bad ."


def test_save_load_and_pickle(tmp_path):
    tok = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=60, cache_dir=str(tmp_path)))
    tok.save(tmp_path / "t.model")
    loaded = Tokenizer.load(tmp_path / "t.model")
    assert loaded.encode("the room was fine .") == tok.encode("the room was fine .")
    assert pickle.loads(pickle.dumps(tok)).encode("good") == tok.encode("good")
