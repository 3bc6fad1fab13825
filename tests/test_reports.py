"""Interpolation, arithmetic, traversal and sample reports on a small trained model."""

import json

import pytest

from textvae.cli import main
from textvae.errors import TextvaeError
from textvae.reports.latent_ops import slerp, smoothness
from textvae.training import train


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    import os

    from tests.conftest import TINY
    from textvae.config import load_recipe

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_vae.yaml")
    out = tmp_path_factory.mktemp("report-vae") / "run"
    train(load_recipe(recipe, TINY + ["train.max_steps=40", "train.eval_every=40", "train.checkpoint_every=40",
                                      "model.loss.kl_weight.steps=20"]), out)
    return out


def test_slerp_ends_and_norm():
    import torch

    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    assert torch.allclose(slerp(a, a, 0.5), a)  # parallel codes: no division by zero
    assert smoothness(["a b", "a b", "a c"])["distinct"] == 2


def test_interpolation_report_files(vae, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the food was great .\tthe staff is rude .\nthe pizza is bland .\ti love the tacos .\n")
    out = tmp_path / "interp"
    assert main(["report", "interpolate", "--model", str(vae), "--pairs", str(pairs), "--steps", "4",
                 "--method", "slerp", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())["data"]
    assert len(data) == 2 and all(len(d["sentences"]) == 5 for d in data)
    page = (out / "report.html").read_text()
    assert "<table>" in page and "neighbour BLEU" in page and (out / "report.md").read_text().startswith("# ")
    assert main(["report", "interpolate", "--model", str(vae), "--pairs", str(pairs), "--out", str(out)]) == 2


def test_arithmetic_traverse_and_samples(vae, tmp_path):
    triples = tmp_path / "triples.tsv"
    triples.write_text("i love the pizza .\ti hate the pizza .\ti hate the staff .\n")
    assert main(["report", "arithmetic", "--model", str(vae), "--triples", str(triples),
                 "--out", str(tmp_path / "a")]) == 0
    assert len(json.loads((tmp_path / "a" / "report.json").read_text())["data"]) == 1
    sentences = tmp_path / "s.txt"
    sentences.write_text("the food was great .\n")
    assert main(["report", "traverse", "--model", str(vae), "--sentences", str(sentences), "--dims", "0,3",
                 "--points", "5", "--out", str(tmp_path / "t")]) == 0
    assert len(json.loads((tmp_path / "t" / "report.json").read_text())["data"]) == 2
    assert main(["report", "samples", "--model", str(vae), "-n", "7", "--out", str(tmp_path / "p")]) == 0
    assert len(json.loads((tmp_path / "p" / "report.json").read_text())["data"]) == 7


@pytest.mark.parametrize("content, verb, flag, message", [
    ("only one column\n", "interpolate", "--pairs", "expected 2 tab-separated sentences"),
    ("a .\t\tc .\n", "arithmetic", "--triples", "an empty sentence"),
])
def test_report_bad_input(vae, tmp_path, capsys, content, verb, flag, message):
    path = tmp_path / "in.tsv"
    path.write_text(content)
    assert main(["report", verb, "--model", str(vae), flag, str(path), "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_reports_need_a_latent(tiny_config, tmp_path, capsys):
    out = tmp_path / "lm"
    train(tiny_config("model.latent.type=none", "train.max_steps=2", "train.early_stopping.metric=null"), out)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a .\tb .\n")
    assert main(["report", "interpolate", "--model", str(out), "--pairs", str(pairs)]) == 2
    assert "no latent code" in capsys.readouterr().err


def _browser():
    import shutil

    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def render_in_chromium(page, tmp_path):
    """Open a report in headless Chromium and read back what the browser rendered: the tables
    (rows of cells as text) and the images with their decoded pixel sizes."""
    import subprocess

    probe = """<script>window.addEventListener('load', () => {
      const out = {tables: [...document.querySelectorAll('table')].map(t => t.rows.length),
                   images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
                   headings: [...document.querySelectorAll('h1, h2')].map(h => h.textContent)};
      const pre = document.createElement('pre'); pre.id = 'probe';
      pre.textContent = JSON.stringify(out); document.body.appendChild(pre); });</script>"""
    copy = tmp_path / "probe.html"
    copy.write_text(page.read_text().replace("</body>", probe + "</body>"))
    result = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--virtual-time-budget=5000", "--dump-dom", copy.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert "id=\"probe\"" in result.stdout, result.stderr[-2000:]
    import html as html_module
    import re

    return json.loads(html_module.unescape(re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S).group(1)))


@pytest.mark.skipif(_browser() is None, reason="needs a Chromium binary (.ci/run installs one with apt)")
def test_reports_render_in_headless_chromium(vae, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the food was great .\tthe staff is rude .\nthe pizza is bland .\ti love the tacos .\n")
    assert main(["report", "interpolate", "--model", str(vae), "--pairs", str(pairs), "--steps", "4",
                 "--out", str(tmp_path / "i")]) == 0
    rendered = render_in_chromium(tmp_path / "i" / "report.html", tmp_path)
    assert rendered["headings"][:2] == ["textvae interpolate report", "Summary"]
    assert rendered["tables"] == [2, 6, 6]  # summary + one row per point (header included)
    assert len(rendered["images"]) == 1 and rendered["images"][0][0]
    width, height = rendered["images"][0][1:]
    assert width > 300 and height > 200  # the embedded PNG decoded, not a broken image

    triples = tmp_path / "triples.tsv"
    triples.write_text("i love the pizza .\ti hate the pizza .\ti hate the staff .\n")
    assert main(["report", "arithmetic", "--model", str(vae), "--triples", str(triples),
                 "--out", str(tmp_path / "a")]) == 0
    assert render_in_chromium(tmp_path / "a" / "report.html", tmp_path)["tables"] == [2]
    assert main(["report", "latent", "--model", str(vae), "--method", "pca", "--out", str(tmp_path / "l")]) == 0
    rendered = render_in_chromium(tmp_path / "l" / "report.html", tmp_path)
    assert rendered["tables"] == [3] and rendered["images"][0][1] > 300


def test_tradeoff_plot_draws_one_line_per_system(tmp_path):
    from textvae.reports.plots import tradeoff_plot

    curves = {"full": [{"strength": 1.5, "accuracy": 80.0, "self_bleu": 30.0},
                       {"strength": 2.0, "accuracy": 92.0, "self_bleu": 22.0}],
              "ae only": [{"strength": 2.0, "accuracy": 70.0, "self_bleu": 10.0}],
              "no points": [{"strength": 1.0}]}
    path = tradeoff_plot(curves, tmp_path / "tradeoff.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TextvaeError, match="no points"):
        tradeoff_plot({"empty": []}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
