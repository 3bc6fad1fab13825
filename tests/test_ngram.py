"""The independent fluency measure (issue 23): interpolated modified Kneser-Ney, checked against a
hand computation on a toy corpus."""

import math

import pytest

from textvae.evaluation.ngram import KneserNeyLM


def test_bigram_probabilities_match_a_hand_computation():
    lm = KneserNeyLM(["a b", "a c", "b c"], order=2)
    # bigram counts: (<s> a) 2, (a b) 1, (a c) 1, (<s> b) 1, (b c) 1, (b </s>) 1, (c </s>) 2:
    # n1 = 5, n2 = 2, no n3, so one discount D = n1 / (n1 + 2 n2) = 5/9
    d2 = 5 / 9
    # unigram continuation counts: a 1 (after <s>), b 2, c 2, </s> 2; total 7; n1 = 1, n2 = 3: D = 1/7
    d1 = 1 / 7
    uniform = 1 / 5  # a, b, c, </s> and <unk>
    gamma1 = d1 * 4 / 7
    p1 = {"a": (1 - d1) / 7 + gamma1 * uniform, "b": (2 - d1) / 7 + gamma1 * uniform,
          "c": (2 - d1) / 7 + gamma1 * uniform, "</s>": (2 - d1) / 7 + gamma1 * uniform, "<unk>": gamma1 * uniform}
    gamma_a = d2 * 2 / 2  # context "a": 2 tokens, 2 distinct continuations
    assert lm.prob("b", ("a",)) == pytest.approx((1 - d2) / 2 + gamma_a * p1["b"])
    assert lm.prob("a", ("a",)) == pytest.approx(gamma_a * p1["a"])
    assert lm.prob("zebra", ("a",)) == pytest.approx(gamma_a * p1["<unk>"])
    assert lm.prob("b", ("zebra",)) == pytest.approx(p1["b"])  # unseen context: the unigram as it is
    for history in [("a",), ("<s>",), ("c",), ()]:  # a distribution over the vocabulary and <unk>
        assert sum(lm.prob(w, history) for w in ["a", "b", "c", "</s>", "zebra"]) == pytest.approx(1.0)
    logprob, tokens = lm.sentence_logprob("a b")
    expected = math.log(lm.prob("a", ("<s>",)) * lm.prob("b", ("a",)) * lm.prob("</s>", ("b",)))
    assert tokens == 3 and logprob == pytest.approx(expected)
    assert lm.perplexity(["a b"]) == pytest.approx(math.exp(-expected / 3))


def test_trigrams_normalise_and_prefer_the_corpus():
    sentences = ["the food was good .", "the food was bad .", "the staff was rude .", "the staff is nice ."] * 5
    lm = KneserNeyLM(sentences, order=3)
    vocab = sorted({w for s in sentences for w in s.split()} | {"</s>"})
    for history in [("the", "food"), ("<s>", "<s>"), ("was", "bad"), ("x", "y")]:
        assert sum(lm.prob(w, history) for w in vocab + ["<unk>"]) == pytest.approx(1.0)
    assert lm.perplexity(["the food was good ."]) < lm.perplexity(["good was food the ."])
