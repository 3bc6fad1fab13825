import pytest
import torch

from textvae.config import load_recipe
from textvae.data.batching import collate
from textvae.data.noise import corrupt
from textvae.data.tokenizer import BOS_ID
from textvae.decoding import greedy
from textvae.models import build_model

SEQS = [[5, 6, 7, 8], [9, 10], [11, 12, 13], [6, 6, 9, 10, 11]]


def _model(*overrides):
    config = load_recipe(None, ["model.embedding_dim=16", "model.encoder.hidden_size=24",
                                "model.decoder.hidden_size=24", "model.latent.dim=8", *overrides])
    torch.manual_seed(0)
    return build_model(config.model, vocab_size=20)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_autoencoder_memorises_a_batch(kind):
    model = _model(f"model.encoder.type={kind}", f"model.decoder.type={kind}")
    batch = collate(SEQS)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    first = model(batch)["loss"].detach().item()
    for _ in range(150):
        optimizer.zero_grad()
        model(batch)["loss"].backward()
        optimizer.step()
    model.eval()
    assert model(batch)["loss"].detach().item() < 0.1 * first
    decoded = model.reconstruct(batch, max_len=8)
    for row, seq in enumerate(SEQS):
        assert decoded[row, :len(seq) + 1].tolist() == seq + [3]


def test_greedy_step_matches_teacher_forcing():
    model = _model("model.decoder.latent_init=false").eval()
    batch = collate(SEQS)
    z = model.encode(batch.src, batch.lengths)["z"]
    decoded = greedy(model.decoder.step, model.decoder.select, model.decoder.initial_state(z), len(SEQS), 6)
    # Feeding the greedy output back with teacher forcing must reproduce its argmaxes.
    tgt_in = torch.cat([torch.full((len(SEQS), 1), BOS_ID), decoded[:, :-1]], dim=1)
    argmax = model.decoder(tgt_in, z).argmax(-1)
    for row in range(len(SEQS)):
        ended = (decoded[row] == 3).nonzero()
        n = int(ended[0]) + 1 if len(ended) else 6
        assert argmax[row, :n].tolist() == decoded[row, :n].tolist()


def test_noise_is_applied_only_in_training():
    model = _model("model.noise.word_dropout=1.0")
    batch = collate(SEQS)
    model.eval()
    clean = model.encode(batch.src, batch.lengths)["z"]
    torch.manual_seed(0)
    corrupted_src, lengths = corrupt(batch.src, batch.lengths, model.config.noise)
    assert bool((corrupted_src[batch.src != 0] == 1).all())
    model.train()
    torch.manual_seed(0)
    loss_train = model(batch)["loss"]
    model.eval()
    assert model(batch)["loss"].detach().item() != pytest.approx(loss_train.detach().item())
    assert clean.shape == (4, 8)


def test_tied_embeddings_share_weights():
    model = _model("model.decoder.tie_embeddings=true", "model.embedding_dim=24")
    assert model.decoder.out.weight is model.embedding.weight
