"""The CUDA paths: graphed decoding, autocast, training, checkpoints and transfer on a GPU.

Skipped where no GPU is visible (CI has none); run them on a GPU machine with
``python -m pytest tests/test_cuda.py``. They compare the GPU's output with the CPU's or the
eager path's, never a time.
"""

import os

import pytest
import torch

import textvae
from tests.conftest import TINY
from textvae.config import load_recipe
from textvae.data.synthetic import generate
from textvae.decoding import DecodeOptions, decode
from textvae.decoding.cuda import graph_cache
from textvae.training import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CUDA = torch.device("cuda")
RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")
DECODERS = {
    "gru": [],
    "lstm": ["model.decoder.type=lstm", "model.encoder.type=lstm"],
    "transformer": ["model.decoder.type=transformer", "model.decoder.num_heads=2", "model.decoder.ff_size=64",
                    "model.decoder.num_layers=2", "model.decoder.dropout=0.0"],
}
SENTENCES = [e.text for e in generate(40, seed=11)]


def _recipe(name, *overrides):
    return load_recipe(os.path.join(RECIPES, name), TINY + list(overrides))


@pytest.fixture(scope="module", params=sorted(DECODERS))
def trained(request, tmp_path_factory):
    """A tiny autoencoder trained on the GPU (mixed precision), loaded on the GPU and on the CPU."""
    config = _recipe("synthetic_ae.yaml", "train.max_steps=300", "train.eval_every=300",
                     "train.checkpoint_every=300", "train.lr=0.003", "train.device=cuda", *DECODERS[request.param])
    out = tmp_path_factory.mktemp(request.param) / "run"
    train(config, out)
    return textvae.load(out, device="cuda"), textvae.load(out, device="cpu")


def _ids(model, z, **options):
    return decode(model.model.decoder, z, DecodeOptions(**options), max_len=20)[0]


def test_graphed_decoding_equals_eager_decoding_in_fp32(trained):
    gpu, _ = trained
    z = gpu.encode(SENTENCES).clone()
    eager = _ids(gpu, z, amp="none", cuda_graphs=False)
    # batch 16: two full batches and a padded last one, through one captured graph
    graphed = _ids(gpu, z, amp="none", batch_size=16)
    assert graphed == eager
    graphs = graph_cache(gpu.model.decoder)
    assert len(graphs) == 1
    assert _ids(gpu, z, amp="none", batch_size=16) == eager and len(graphs) == 1  # replayed, not recaptured
    assert _ids(gpu, z[:5], amp="none", batch_size=8) == eager[:5] and len(graphs) == 2


def test_gpu_decoding_agrees_with_the_cpu(trained):
    gpu, cpu = trained
    z = cpu.encode(SENTENCES).clone()
    reference = _ids(cpu, z)
    fp32 = _ids(gpu, z.to(CUDA), amp="none")
    bf16 = _ids(gpu, z.to(CUDA))  # the default fast path: bf16 autocast + graphs
    assert sum(a == b for a, b in zip(fp32, reference)) >= 0.95 * len(z)
    assert sum(a == b for a, b in zip(bf16, reference)) >= 0.85 * len(z)
    beam_cpu = _ids(cpu, z, strategy="beam", beam_size=4)
    beam_gpu = _ids(gpu, z.to(CUDA), strategy="beam", beam_size=4, amp="none")
    assert sum(a == b for a, b in zip(beam_gpu, beam_cpu)) >= 0.95 * len(z)


def test_graphed_sampling_is_seeded_and_top_k_one_is_greedy(trained):
    gpu, _ = trained
    z = gpu.encode(SENTENCES).clone()
    first = _ids(gpu, z, strategy="sample", temperature=2.0, seed=3)
    assert first == _ids(gpu, z, strategy="sample", temperature=2.0, seed=3)
    assert first != _ids(gpu, z, strategy="sample", temperature=2.0, seed=4)
    assert _ids(gpu, z, strategy="sample", top_k=1, temperature=3.0) == _ids(gpu, z)
    nucleus = _ids(gpu, z, strategy="sample", top_p=0.9, seed=1)
    assert all(0 < len(seq[0]) <= 20 for seq in nucleus)


def test_api_reconstructs_on_the_gpu(trained):
    gpu, cpu = trained
    on_gpu, on_cpu = gpu.reconstruct(SENTENCES), cpu.reconstruct(SENTENCES)
    assert sum(a == b for a, b in zip(on_gpu, on_cpu)) >= 0.85 * len(SENTENCES)


def test_resumed_gpu_training_continues_where_it_stopped(tmp_path):
    common = ["train.device=cuda", "train.eval_every=20", "train.checkpoint_every=20", "seed=5"]
    full = train(_recipe("synthetic_vae.yaml", "train.max_steps=40", *common), tmp_path / "full")
    train(_recipe("synthetic_vae.yaml", "train.max_steps=20", *common), tmp_path / "part")
    resumed = train(_recipe("synthetic_vae.yaml", "train.max_steps=40", *common), tmp_path / "part", resume=True)
    assert resumed["step"] == full["step"] == 40
    # the same run up to GPU rounding (atomic adds in the embedding gradient are unordered)
    assert resumed["dev"]["loss"] == pytest.approx(full["dev"]["loss"], rel=1e-2)


def test_disentangled_transfer_on_the_gpu(tmp_path):
    config = _recipe("synthetic_disentangled_vae.yaml", "train.max_steps=150", "train.eval_every=150",
                     "train.checkpoint_every=150", "train.device=cuda")
    train(config, tmp_path / "run")
    gpu, cpu = textvae.load(tmp_path / "run", device="cuda"), textvae.load(tmp_path / "run", device="cpu")
    sources = SENTENCES[:16]
    on_gpu = gpu.transfer(sources, to="negative", amp="none")
    assert sum(a == b for a, b in zip(on_gpu, cpu.transfer(sources, to="negative"))) >= 0.9 * len(sources)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fused_output_nll_on_the_gpu_matches_the_reference(dtype):
    from textvae.objectives.reconstruction import output_nll, sentence_nll

    torch.manual_seed(0)
    layer = torch.nn.Linear(64, 500).to(CUDA)
    states = torch.randn(8, 12, 64, device=CUDA, requires_grad=True)
    targets = torch.randint(4, 500, (8, 12), device=CUDA)
    targets[:, 9:] = 0
    with torch.autocast("cuda", dtype=dtype):
        fused = output_nll(states, layer, targets)
        ours = torch.autograd.grad(fused.sum(), [states, layer.weight, layer.bias])
        reference = sentence_nll(layer(states), targets)
        theirs = torch.autograd.grad(reference.sum(), [states, layer.weight, layer.bias])
    assert torch.allclose(fused, reference, rtol=2e-2, atol=2e-2)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and torch.allclose(a, b, rtol=3e-2, atol=3e-2)
