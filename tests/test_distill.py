"""Distilled reranking (issue 23): ``textvae distill`` writes the model's transfers of the training
split as resumable chunks, and ``model.distill.pairs`` trains on them."""

import json
import logging

import pytest
import torch

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.data.corpus import load_corpus
from textvae.models.style_seq2seq.model import token_nll
from textvae.training import train
from textvae.transfer.distill import balanced_sample, distill_pairs

from tests.conftest import IBT_RECIPE as RECIPE, IBT_TINY

TINY = IBT_TINY + ["train.log_every=1"]


@pytest.fixture
def base(tiny_ibt_run):
    return tiny_ibt_run


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairs_are_the_models_transfers_and_a_killed_run_resumes_without_gaps(base, tmp_path, capsys):
    out = tmp_path / "pairs"
    assert main(["distill", "--model", str(base), "--out", str(out), "--sentences", "50", "--chunk", "16"]) == 0
    pairs = _lines(out / "pairs.jsonl")
    corpus = load_corpus("synthetic:800")
    everything, every_label = corpus.texts("train"), corpus.labels("train")
    chosen = balanced_sample(every_label, 50, seed=0)
    # 50 of the split, 25 of each style, in split order, each pair naming its sentence's index
    assert [p["index"] for p in pairs] == chosen == sorted(set(chosen))
    assert sorted(every_label[i] for i in chosen) == [0] * 25 + [1] * 25
    assert [p["source"] for p in pairs] == [everything[i] for i in chosen]
    model = textvae.load(base, device="cpu")
    texts = everything[:50]
    first = pairs[0]
    assert first["output"] == model.transfer([first["source"]], to=model.label_names[first["target"]])[0]
    assert first["target"] != first["label"]
    # a run killed after two chunks: --resume writes the rest, nothing twice, nothing missing
    killed = tmp_path / "killed"
    calls = {"n": 0}
    original = model.transfer

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:  # killed in the chunk that makes the third call
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    model.transfer = dying
    labels = load_corpus("synthetic:800").labels("train")[:50]
    settings = model.transfer_settings()
    with pytest.raises(KeyboardInterrupt):
        distill_pairs(model, texts, labels, killed, settings, "x", chunk=16)
    assert 1 <= len(list((killed / "chunks").glob("*.jsonl"))) < 4 and not (killed / "pairs.jsonl").exists()
    model.transfer = original
    distill_pairs(model, texts, labels, killed, settings, "x", chunk=16, resume=True)
    resumed = _lines(killed / "pairs.jsonl")
    assert [p["index"] for p in resumed] == list(range(50))
    distill_pairs(model, texts, labels, tmp_path / "whole", settings, "x", chunk=16)  # never killed
    assert resumed == _lines(tmp_path / "whole" / "pairs.jsonl")
    with pytest.raises(Exception, match="started with other chunk"):
        distill_pairs(model, texts, labels, killed, settings, "x", chunk=8, resume=True)


def test_shards_fill_one_directory_side_by_side_and_the_last_writes_the_pairs(base, tmp_path, capsys):
    whole, shared = tmp_path / "whole", tmp_path / "shared"
    common = ["distill", "--model", str(base), "--sentences", "40", "--chunk", "8", "--quiet"]
    assert main(common + ["--out", str(whole)]) == 0
    assert main(common + ["--out", str(shared), "--shard", "1/2"]) == 0
    assert sorted(f.name for f in (shared / "chunks").iterdir()) == ["00000008.jsonl", "00000024.jsonl"]
    assert not (shared / "pairs.jsonl").exists() and "2 of 5 chunks are in" in capsys.readouterr().out
    assert main(common + ["--out", str(shared), "--shard", "0/2"]) == 0
    assert _lines(shared / "pairs.jsonl") == _lines(whole / "pairs.jsonl")  # the same pairs, nothing twice
    assert "40 pairs in" in capsys.readouterr().out
    # a shard with other settings is refused by the manifest; --force would clear the others' chunks
    assert main(common + ["--out", str(shared), "--shard", "1/2", "--beam", "3", "--strategy", "beam"]) == 2
    assert "started with other" in capsys.readouterr().err
    assert main(common + ["--out", str(shared), "--shard", "1/2", "--force"]) == 2
    assert "--shard joins" in capsys.readouterr().err
    assert main(common + ["--out", str(tmp_path / "x"), "--shard", "2/2"]) == 2
    assert "expected 0 <= K < N" in capsys.readouterr().err


def test_an_existing_pairs_directory_is_refused_before_the_model_is_loaded(tmp_path, capsys):
    (tmp_path / "pairs").mkdir()
    assert main(["distill", "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "pairs")]) == 2
    assert "exists; pass --resume" in capsys.readouterr().err


def test_training_on_the_pairs_learns_them(base, tmp_path):
    pairs = tmp_path / "pairs"  # 6 pairs among 640 training sentences: most batches hold none of them
    assert main(["distill", "--model", str(base), "--out", str(pairs), "--sentences", "6", "--quiet"]) == 0
    out = tmp_path / "distilled"
    train(load_recipe(RECIPE, TINY + ["train.max_steps=15", f"train.init_from={base}", f"model.distill.pairs={pairs}",
                                      "model.distill.weight=1", "model.distill.batch=4", "train.eval_every=15"]), out)
    records = _lines(out / "metrics.jsonl")
    logged = [r["distill_nll"] for r in records if r["split"] == "train"]
    # a draw of pairs at every step, whichever sentences the batch holds; learnt within 15 steps
    assert len(logged) == 15 and sum(logged[-3:]) < 0.85 * sum(logged[:3])
    dev = [r for r in records if r["split"] == "dev"]
    assert dev and not any("distill_nll" in r for r in dev)  # no dev sentence has a pair
    other = tmp_path / "other"
    with pytest.raises(Exception, match="is not this training split's sentence"):
        train(load_recipe(RECIPE, TINY + ["train.max_steps=1", "data.path=synthetic:300", f"model.distill.pairs={pairs}"]),
              other)


def test_edit_weight_weighs_the_tokens_the_source_lacks():
    from tests.test_ibt import _tiny_model
    from textvae.data.batching import collate
    from textvae.data.tokenizer import EOS_ID, PAD_ID
    from textvae.models.style_seq2seq.model import edited_tokens
    from textvae.objectives.reconstruction import tokenwise_nll

    targets, sources = torch.tensor([[5, 6, 7, EOS_ID], [8, 9, EOS_ID, PAD_ID]]), torch.tensor([[5, 7, PAD_ID], [9, 10, 11]])
    assert edited_tokens(targets, sources).tolist() == [[False, True, False, False], [True, False, False, False]]
    pairs = [([5, 7, 12], 1, [5, 6, 7, 12]), ([9, 10], 0, [8, 9]), ([13, 14, 15], 1, [13, 14, 15])]
    no_dropout = ["model.dropout=0", "model.encoder.dropout=0", "model.decoder.dropout=0", "model.distill.batch=3"]
    terms = {}
    for weight in (1.0, 4.0):
        model = _tiny_model(f"model.distill.edit_weight={weight}", *no_dropout).train()
        model._pairs = pairs
        torch.manual_seed(1)  # the same draw of pairs for both weights
        with torch.no_grad():
            terms[weight] = model._distill_term({"batch": collate([[5, 6]])})
    torch.manual_seed(1)
    picked = [pairs[i] for i in torch.randint(len(pairs), (3,)).tolist()]
    src, out = collate([p[0] for p in picked]), collate([p[2] for p in picked])
    with torch.no_grad():  # the same weights: _tiny_model seeds its initialisation
        context = model.decoder_context(src.src, src.lengths, torch.tensor([p[1] for p in picked]))
        tokens = tokenwise_nll(model.decoder(out.tgt_in, context), out.tgt_out)
    edits = edited_tokens(out.tgt_out, src.src).float()
    assert edits.sum() > 0
    (plain, plain_metrics), (weighted, metrics) = terms[1.0], terms[4.0]
    assert torch.allclose(plain, tokens.sum(1).mean(), atol=1e-5) and "distill_edit_share" not in plain_metrics
    assert torch.allclose(weighted, (tokens * (1 + 3 * edits)).sum(1).mean(), atol=1e-5)
    assert torch.allclose(metrics["distill_nll"], plain, atol=1e-5)  # the log keeps the plain NLL
    assert torch.allclose(metrics["distill_edit_share"], edits.sum() / (out.tgt_out != PAD_ID).sum())


def test_pairs_are_kept_by_their_transfers_perplexity_over_their_sources(base, tiny_lm_run, tmp_path, caplog):
    pairs = tmp_path / "pairs"
    assert main(["distill", "--model", str(base), "--out", str(pairs), "--sentences", "40", "--quiet"]) == 0
    lines = _lines(pairs / "pairs.jsonl")
    lm = textvae.load(tiny_lm_run, device="cpu")
    with torch.no_grad():
        ratios = (token_nll(lm, [p["output"] for p in lines], "cpu") - token_nll(lm, [p["source"] for p in lines], "cpu")).exp()
    distinct = sorted(set(ratios.tolist()))
    assert len(distinct) > 2
    middle = len(distinct) // 2
    bound = (distinct[middle] + distinct[middle + 1]) / 2  # between two ratios, so no pair sits on it
    wanted = int((ratios <= bound).sum())
    assert 0 < wanted < len(lines)
    overrides = TINY + ["train.max_steps=1", f"train.init_from={base}", f"model.distill.pairs={pairs}",
                        f"model.distill.lm={tiny_lm_run}"]
    with caplog.at_level(logging.INFO, logger="textvae"):
        train(load_recipe(RECIPE, overrides + [f"model.distill.max_ppl_ratio={bound}"]), tmp_path / "kept")
    assert f"{wanted} of {len(lines)} pairs kept" in caplog.text
    with pytest.raises(Exception, match="no pair of .* is within"):
        train(load_recipe(RECIPE, overrides + [f"model.distill.max_ppl_ratio={distinct[0] / 2}"]), tmp_path / "none")


@pytest.mark.parametrize("overrides, message", [
    (["model.distill.max_ppl_ratio=-1", "model.distill.lm=LM"], "must be a positive number"),
    (["model.distill.max_ppl_ratio=1.5"], "needs model.distill.lm"),
    (["model.distill.max_ppl_ratio=1.5", "model.distill.lm=BASE"], "is not a language model"),
    (["model.distill.edit_weight=0"], "edit_weight' must be a positive number"),
    (["model.distill.edit_weight=nan"], "edit_weight' must be a finite number"),
])
def test_a_bad_pair_filter_is_refused_before_the_run_directory(base, tiny_lm_run, tmp_path, capsys, overrides, message):
    pairs = tmp_path / "pairs"
    assert main(["distill", "--model", str(base), "--out", str(pairs), "--sentences", "6", "--quiet"]) == 0
    out = tmp_path / "bad"
    overrides = [o.replace("LM", str(tiny_lm_run)).replace("BASE", str(base)) for o in overrides]
    assert main(["train", RECIPE, "--out", str(out), *TINY, "train.max_steps=1", f"train.init_from={base}",
                 f"model.distill.pairs={pairs}", *overrides]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
