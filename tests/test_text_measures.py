import pytest

from textvae.data.synthetic import NOUNS, synthetic_splits
from textvae.evaluation.lexicon import style_lexicon, style_words
from textvae.evaluation.normalize import detect_style, normalize
from textvae.evaluation.similarity import word_overlap


@pytest.mark.parametrize("raw, yelp, amazon", [
    ("I didn't like it!", "i did n't like it !", "i didn t like it !"),
    ("It's GREAT, can't wait... won't return.", "it 's great , ca n't wait ... wo n't return .",
     "it s great , can t wait ... won t return ."),
    ("We paid $25.50 for 2 pizzas.", "we paid $ 25.50 for 2 pizzas .", "we paid $ num_num for num_num pizzas ."),
    ("\u201cBest\u201d  tacos \u2019til now", '" best " tacos \'til now', "best tacos til now"),
])
def test_normalisation_matches_the_releases(raw, yelp, amazon):
    assert normalize(raw, "yelp") == yelp
    assert normalize(raw, "amazon").replace('"', "").split() == amazon.split()
    assert normalize(yelp, "yelp") == yelp  # already-tokenised text is left as it is


def test_release_format_is_detected():
    assert detect_style(["i did n't like it .", "it 's fine ."]) == "yelp"
    assert detect_style(["i didn t like it .", "paid num_num dollars ."]) == "amazon"
    assert detect_style(["plain lowercase words ."]) == "yelp"
    assert detect_style(["Cased Text, as written."]) == "none"
    with pytest.raises(ValueError):
        normalize("x", "klingon")


def test_mined_lexicon_recovers_the_synthetic_style_words():
    data = synthetic_splits(n_train=4000, n_dev=10, n_test=10)["train"]
    lexicon = style_lexicon([e.text for e in data], [e.label for e in data])
    truth = {w for e in data for w in e.style_words}
    nouns = {n for group in NOUNS.values() for n in group}
    mined = style_words(lexicon)
    assert mined == truth and not mined & nouns
    assert {"great", "delicious"} <= {w for w, _ in lexicon[1]}
    assert {"terrible", "bland"} <= {w for w, _ in lexicon[0]}


def test_word_overlap_ignores_stopwords_and_style_words():
    scores = word_overlap(["the pizza was great .", "the staff is rude .", "it is ."],
                          ["the pizza was awful .", "a waiter is friendly .", "it was ."],
                          style_words={"great", "awful", "rude", "friendly"})
    assert scores == [1.0, 0.0, 1.0]


def test_bleu_self_and_multi_reference():
    from textvae.evaluation.bleu import corpus_bleu, sentence_bleu_average

    sources = ["the pizza was great and the staff was friendly .", "i love this place so much ."]
    assert corpus_bleu(sources, [sources])["bleu"] == pytest.approx(100.0)
    outputs = ["the pizza was bad and the staff was rude .", "i hate this place so much ."]
    single = corpus_bleu(outputs, [sources])["bleu"]
    refs = ["the pizza was bad and the staff was rude .", "i hate this place so much ."]
    multi = corpus_bleu(outputs, [sources, refs])
    assert 0 < single < multi["bleu"] == pytest.approx(100.0)
    assert "tok:none" in multi["signature"] and "nrefs:2" in multi["signature"]
    assert 0 < sentence_bleu_average(outputs, [sources]) < 100


def test_fasttext_judge_is_cached_and_reproducible(tmp_path):
    from textvae.data.corpus import load_corpus
    from textvae.evaluation.judge import cached_judge

    corpus = load_corpus("synthetic:2000")
    judge, cached = cached_judge(corpus, cache_dir=tmp_path)
    assert not cached and judge.dev_accuracy > 0.95
    again, cached = cached_judge(corpus, cache_dir=tmp_path)
    assert cached and again.dev_accuracy == judge.dev_accuracy
    texts = corpus.texts("test")[:50]
    assert again.predict_proba(texts) == judge.predict_proba(texts)
    flipped = [e for e in __import__("textvae.data.synthetic", fromlist=["generate"]).generate(20, seed=9)]
    assert judge.accuracy([e.transferred for e in flipped], [1 - e.label for e in flipped]) > 0.9


def test_bleu_matches_a_hand_computed_value_and_sacrebleu():
    import sacrebleu

    from textvae.evaluation.bleu import corpus_bleu

    # precisions 5/6, 3/5, 2/4, 1/3, equal lengths: BLEU = (5/6 * 3/5 * 1/2 * 1/3) ** (1/4)
    score = corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]])["bleu"]
    assert score == pytest.approx(100 * (5 / 6 * 3 / 5 * 1 / 2 * 1 / 3) ** 0.25, abs=1e-6)
    outputs = ["the food was great , really .", "service is slow but friendly ."]
    refs = [["the food was great .", "service was slow and rude ."]]
    expected = sacrebleu.corpus_bleu(outputs, refs, tokenize="none").score
    assert corpus_bleu(outputs, refs)["bleu"] == pytest.approx(expected)
