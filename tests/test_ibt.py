"""Iterative back-translation with a style-conditioned seq2seq model, on the synthetic corpus."""

import io
import os

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.data.synthetic import synthetic_splits
from textvae.data.tokenizer import UNK_ID
from textvae.errors import TextvaeError
from textvae.models import build_model
from textvae.training import train
from textvae.transfer.rerank import make_reranker
from textvae.transfer.interactive import run_interactive
from tests.data.test_synthetic import transfer_scores

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
SMALL = ["data.path=synthetic:6000", "train.max_minutes=null", "train.eval_max_sentences=200",
         "train.max_steps=700", "train.eval_every=700", "train.checkpoint_every=700", "train.lr=0.002"]
TEST = synthetic_splits(n_train=10, n_dev=10, n_test=200, seed=0)["test"]


@pytest.fixture(scope="module", params=["transformer", "gru"])
def trained(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"ibt-{request.param}") / "run"
    extra = (["model.embedding_dim=64", "model.encoder.hidden_size=64", "model.decoder.hidden_size=64",
              "model.encoder.ff_size=128", "model.decoder.ff_size=128"] if request.param == "transformer"
             else ["model.embedding_dim=64", "model.encoder.hidden_size=64", "model.decoder.hidden_size=128"])
    train(load_recipe(os.path.join(RECIPES, f"synthetic_ibt_{request.param}.yaml"), SMALL + extra), out)
    return textvae.load(out, device="cpu")


@pytest.mark.slow  # two 700-step trainings with on-the-fly back-translation: minutes on CPU
def test_cycle_training_transfers_style_and_keeps_nouns(trained):
    for examples, outputs, flipped, kept in transfer_scores(trained, TEST):
        assert flipped >= 0.8 * len(examples), list(zip(outputs[:4], [e.text for e in examples[:4]]))
        assert kept >= 0.8 * len(examples), list(zip(outputs[:4], [e.text for e in examples[:4]]))


@pytest.mark.slow  # shares the trainings above
def test_style_guidance_strength_zero_keeps_the_style_and_two_flips_at_least_as_often(trained):
    def flipped(strength):
        return sum(scores[2] for scores in transfer_scores(trained, TEST, strength=strength))

    plain, stronger, none = flipped(1.0), flipped(2.0), flipped(0.0)
    assert none <= 5 and stronger >= plain, (none, plain, stronger)


@pytest.mark.parametrize("backbone", ["transformer", "gru"])
def test_a_short_cycle_run_trains_and_transfers(backbone, tmp_path, tiny_config, capsys):
    config = load_recipe(os.path.join(RECIPES, f"synthetic_ibt_{backbone}.yaml"),
                         ["data.path=synthetic:600", "model.embedding_dim=32", "model.encoder.hidden_size=32",
                          "model.decoder.hidden_size=32", "model.encoder.ff_size=64", "model.decoder.ff_size=64",
                          "train.max_steps=6", "model.cycle.warmup_steps=3", "train.eval_every=6",
                          "train.checkpoint_every=6", "train.max_minutes=null", "train.eval_transfer_sentences=20"])
    result = train(config, tmp_path / "run")
    assert {"bt_rec", "style_loss", "transfer_acc", "transfer_self_bleu"} <= set(result["dev"])
    model = textvae.load(tmp_path / "run", device="cpu")
    out = model.transfer(["the food was great .", "the staff is rude ."], to="negative", strategy="beam", beam_size=2)
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    reranked = model.transfer(["the food was great .", "", "the staff is rude ."], to="negative", strategy="beam",
                              beam_size=3, n_best=2, rerank=1.0, rerank_cycle=1.0)
    assert [len(o) for o in reranked] == [2, 2, 2]
    with pytest.raises(TextvaeError, match="beam"):
        model.transfer(["the food was great ."], to="negative", rerank=1.0)
    # language-model reranking, with an LM of another tokenizer (candidates go through text)
    train(tiny_config("model.latent.type=none", "train.max_steps=3", "tokenizer.type=char",
                      "train.early_stopping.metric=loss"), tmp_path / "lm")
    lm = textvae.load(tmp_path / "lm", device="cpu")
    # one sentence in every call below: a 6-step model's beam scores are near-ties, which the batch's
    # padding can flip by a rounding
    fluent = model.transfer(["the food was great ."], to="negative", strategy="beam", beam_size=3, n_best=3,
                            rerank_lm=1e6, lm=lm)
    assert len(model.transfer(["the food was great .", ""], to="negative", strategy="beam", beam_size=3, n_best=3,
                              rerank_lm=1e6, lm=lm)) == 2
    nll = lm.sentence_nll(fluent[0])
    from textvae.evaluation.fluency import CorpusLM

    texts = ["the food was great .", "the staff is rude ."]
    total, tokens = CorpusLM(lm).log_likelihood(texts)
    lengths = torch.tensor([len(ids) + 1 for ids in lm.tokenizer.encode(texts)])
    assert float((lm.sentence_nll(texts) * lengths).sum()) == pytest.approx(total, rel=1e-4)
    assert int(lengths.sum()) == tokens
    assert nll.tolist() == sorted(nll.tolist())  # the LM's weight dominates: most fluent first
    assert model.transfer(["the food was great ."], to="negative", strategy="beam", beam_size=3, rerank_lm=1e6,
                          lm=str(tmp_path / "lm")) == [fluent[0][0]]  # a path works too
    with pytest.raises(TextvaeError, match="needs a language model"):
        model.transfer(["the food was great ."], to="negative", strategy="beam", beam_size=3, rerank_lm=1.0)
    with pytest.raises(TextvaeError, match="not a language model"):
        model.transfer(["the food was great ."], to="negative", strategy="beam", beam_size=3, rerank_lm=1.0,
                       lm=model)
    source = tmp_path / "in.txt"
    source.write_text("the food was great .\n")
    command = ["transfer", "--model", str(tmp_path / "run"), "--to", "negative", "--input", str(source),
               "--strategy", "beam", "--beam", "3", "--rerank-lm", "1e6", "--device", "cpu"]  # as the API's model
    assert main(command) == 2 and "needs a language model" in capsys.readouterr().err
    assert main(command + ["--lm", str(tmp_path / "run")]) == 2 and "not a language model" in capsys.readouterr().err
    assert main(command + ["--lm", str(tmp_path / "lm")]) == 0
    assert capsys.readouterr().out.strip() == fluent[0][0]
    stdout = io.StringIO()
    run_interactive(model, {}, lm=lm, stdin=io.StringIO(":beam 3\n:lm 1e6\nthe food was great .\n"), stdout=stdout)
    assert any(line.strip().startswith(f"negative: {fluent[0][0]}") for line in stdout.getvalue().splitlines()[2:])
    # sampled candidates join the reranked pool only while a beam is reranked; greedy ignores them
    fluent_pool = model.transfer(["the food was great ."], to="negative", strategy="beam", beam_size=3, samples=4,
                                 rerank_lm=1e6, lm=lm)[0]
    stdout = io.StringIO()
    run_interactive(model, {}, lm=lm, stdin=io.StringIO(
        ":beam 3\n:lm 1e6\n:samples 4\nthe food was great .\n:greedy\nthe food was great .\n"), stdout=stdout)
    lines = [line.strip() for line in stdout.getvalue().splitlines()]
    negative = [line for line in lines if line.startswith("negative:")]
    assert "4 sampled candidates with beam search and reranking" in lines
    greedy_output = model.transfer(["the food was great ."], to="negative", strategy="greedy")[0]
    assert negative[0].startswith(f"negative: {fluent_pool}") and negative[1].startswith(f"negative: {greedy_output}")


def _tiny_model(*overrides):
    config = load_recipe(os.path.join(RECIPES, "synthetic_ibt_transformer.yaml"),
                         ["model.embedding_dim=32", "model.encoder.hidden_size=32", "model.decoder.hidden_size=32",
                          "model.encoder.ff_size=64", "model.decoder.ff_size=64", *overrides])
    torch.manual_seed(0)
    return build_model(config.model, 40, num_labels=2).eval()


class _Ids:
    """A tokenizer whose 'text' is the ids themselves, and an LM that scores them from a table."""

    @staticmethod
    def decode(seq):
        return " ".join(map(str, seq))


class _TableLM:
    def __init__(self, nll):
        self.nll = nll

    def sentence_nll(self, texts):
        return self.nll[:len(texts)]


def _reranker(model, target, weight, cycle_weight=0.0, lm_weight=0.0, lm=None):
    return make_reranker(model, _Ids, target, weight, cycle_weight, lm_weight, lm)


def test_rerank_orders_beam_candidates_by_score_plus_classifier_and_cycle():
    model = _tiny_model()
    ids = [[[5, 6], [7, 8, 9], []], [[10], [11, 12], [13]]]
    sources = collate([[20, 21, 22], [23, 24]])
    with torch.no_grad():
        candidates = collate([seq or [UNK_ID] for row in ids for seq in row])
        log_p = model.classifier(tokens=candidates.src).log_softmax(-1)[:, 1].view(2, 3)
        ranked = _reranker(model, 1, 1.0)(ids, torch.zeros(2, 3), sources)
        assert ranked == [[row[j] for j in lp.argsort(descending=True).tolist()] for row, lp in zip(ids, log_p)]
        winners = _reranker(model, 1, 1.0)(ids, torch.tensor([[0.0, 0.0, 1e6], [1e6, 0.0, 0.0]]), sources)
        assert [row[0] for row in winners] == [[], [10]]  # the beam score still counts
        # the cycle term: the candidate the source is rebuilt from best (per token) comes first
        styles = model.classifier(tokens=sources.src).argmax(-1).repeat_interleave(3)
        nll = model.rebuild_nll(candidates.src, candidates.lengths, sources.tgt_in.repeat_interleave(3, 0),
                                sources.tgt_out.repeat_interleave(3, 0), styles).view(2, 3)
        ranked = _reranker(model, 1, 0.0, cycle_weight=1.0)(ids, torch.zeros(2, 3), sources)
        assert ranked == [[row[j] for j in n.argsort().tolist()] for row, n in zip(ids, nll)]
        # the language-model term: the lowest per-token NLL first, with or without a classifier
        fake_nll = torch.tensor([3.0, 1.0, 2.0, 0.5, 2.5, 1.5])
        for m in (model, _tiny_model("model.cycle.style_weight.value=0")):
            ranked = _reranker(m, 1, 0.0, lm_weight=1.0, lm=_TableLM(fake_nll))(ids, torch.zeros(2, 3), sources)
            assert ranked == [[ids[0][1], ids[0][2], ids[0][0]], [ids[1][0], ids[1][2], ids[1][1]]]
    assert _reranker(model, 1, 0.0) is None
    with pytest.raises(TextvaeError, match="needs a language model"):
        _reranker(model, 1, 0.0, lm_weight=1.0)
    with pytest.raises(TextvaeError, match="without a style classifier"):
        _reranker(_tiny_model("model.cycle.style_weight.value=0"), 1, 1.0)
    with pytest.raises(TextvaeError, match="0 .off. or positive"):
        _reranker(model, 1, -1.0)


def test_best_only_reranking_rebuilds_fewer_candidates_and_picks_the_same_first(monkeypatch):
    from textvae.transfer import rerank

    model = _tiny_model()
    gen = torch.Generator().manual_seed(0)
    ids = [[torch.randint(5, 30, (int(torch.randint(1, 6, (1,), generator=gen)),), generator=gen).tolist()
            for _ in range(8)] for _ in range(6)]
    sources = collate([torch.randint(5, 30, (4,), generator=gen).tolist() for _ in range(6)])
    rebuilt = []
    real = rerank.cycle_scorer

    def counting(rebuild_nll):
        nll = real(rebuild_nll)
        return lambda candidates, src, rows: rebuilt.append(len(candidates)) or nll(candidates, src, rows)

    monkeypatch.setattr(rerank, "cycle_scorer", counting)
    with torch.no_grad():
        for spread in (0.0, 1.0, 20.0):  # beam scores from all equal to far apart
            scores = spread * torch.randn(6, 8, generator=gen)
            for weight, cycle_weight in ((0.0, 1.0), (1.0, 1.0), (4.0, 0.5)):
                rebuilt.clear()
                full = _reranker(model, 1, weight, cycle_weight)(ids, scores, sources)
                assert sum(rebuilt) == 48  # every candidate
                rebuilt.clear()
                best = make_reranker(model, _Ids, 1, weight, cycle_weight, best_only=True)(ids, scores, sources)
                assert [row[0] for row in best] == [row[0] for row in full]
                assert sorted(map(tuple, best[0])) == sorted(map(tuple, full[0]))  # every candidate is still there
                assert sum(rebuilt) <= 48
                if spread == 20.0:
                    assert sum(rebuilt) < 48  # a candidate far behind on its beam score is never rebuilt
        scores = torch.zeros(6, 8)
        scores[0] = float("-inf")  # a source without a live candidate: nothing to rebuild, the beam's order
        best = make_reranker(model, _Ids, 1, 1.0, 1.0, best_only=True)(ids, scores, sources)
        assert best[0] == ids[0] and [row[0] for row in best[1:]] == [row[0] for row in _reranker(
            model, 1, 1.0, 1.0)(ids, scores, sources)[1:]]


def test_candidates_scored_in_chunks_score_as_in_one_batch(monkeypatch):
    from textvae.transfer import rerank

    model = _tiny_model()
    ids = [[[5, 6], [7, 8, 9], []], [[10], [11, 12], [13]], [[14, 15, 16, 17], [18], [19, 5]]]
    sources = collate([[20, 21, 22], [23, 24], [25, 26, 27, 28]])
    score = rerank.candidate_scorer(model, _Ids, 1, style=True, cycle=True)
    with torch.no_grad():
        whole = score(ids, sources)
        monkeypatch.setattr(rerank, "CANDIDATE_CHUNK", 3)  # one source's 3 candidates at a time
        chunked = score(ids, sources)
    assert set(whole) == set(chunked) == {"style", "cycle"}
    for name in whole:
        assert chunked[name].shape == (3, 3) and torch.allclose(whole[name], chunked[name], atol=1e-4)


@pytest.mark.parametrize("relaxation,fraction", [("sequential", 1.0), ("greedy_prefix", 1.0), ("sequential", 0.5),
                                                 ("greedy_prefix", 0.5)])
def test_style_loss_reaches_the_decoder_not_the_classifier(relaxation, fraction):
    model = _tiny_model("model.cycle.warmup_steps=0", "model.cycle.bt_weight.value=0", "model.cycle.ae_weight=0",
                        f"model.cycle.style_relaxation={relaxation}", f"model.cycle.style_fraction={fraction}").train()
    batch = collate([[5, 6, 7], [8, 9], [10, 11, 12, 13], [14]], [0, 1, 0, 1])
    out = model(batch)
    out["loss"].backward()
    assert out["style_loss"] > 0 and "bt_rec" not in out
    decoder_grad = sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None)
    assert decoder_grad > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.classifier.parameters())


def test_style_seq2seq_bad_config():
    with pytest.raises(TextvaeError, match="unknown recipe key 'model.style'"):  # not a section of this model
        load_recipe(os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), ["model.style.dim=8"])
    with pytest.raises(TextvaeError, match="soft_temperature"):
        load_recipe(os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), ["model.cycle.soft_temperature=0"])
    with pytest.raises(TextvaeError, match="style_fraction"):
        load_recipe(os.path.join(RECIPES, "synthetic_ibt_gru.yaml"), ["model.cycle.style_fraction=0"])
