"""``textvae serve`` (issue 22): the JSON API with its limits and messages, a bounded load test on
loopback, and the page driven in headless Chromium (typing, transferring, the strength slider,
each error message, the interpolation tab, a screenshot of the controls)."""

import io
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import textvae
from textvae.cli import main
from textvae.config import load_recipe
from textvae.training import train
from textvae.transfer.web import MAX_BODY, MAX_SENTENCES, TransferService, make_server

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "synthetic_disentangled_vae.yaml")
TINY = ["data.path=synthetic:1500", "model.embedding_dim=32", "model.encoder.hidden_size=32",
        "model.decoder.hidden_size=32", "train.max_steps=60", "train.eval_every=60", "train.checkpoint_every=60",
        "train.max_minutes=null", "train.eval_max_sentences=40", "train.eval_transfer_sentences=20", "train.lr=0.003"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "run"
    train(load_recipe(RECIPE, TINY), out)
    model = textvae.load(out, device="cpu")
    server = make_server(TransferService(model), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", model
    server.shutdown()
    server.server_close()


def post(url, path, body, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_api_transfers_with_the_models_defaults_and_reports_bad_input(served):
    url, model = served
    with urllib.request.urlopen(url + "/api/info", timeout=30) as response:
        info = json.loads(response.read())
    assert info["styles"] == model.label_names and info["uses_strength"] and info["can_interpolate"]
    status, data = post(url, "/api/transfer", {"text": "the food was good .\n\nthe staff is rude .", "to": "negative"})
    assert status == 200 and [r["source"] for r in data["results"]] == ["the food was good .", "the staff is rude ."]
    assert data["results"][0]["output"] == model.transfer(["the food was good ."], to="negative")[0]
    status, data = post(url, "/api/transfer", {"text": "the food was good .", "to": "negative", "strategy": "beam",
                                               "beam": 4, "strength": 1.5})
    assert status == 200 and len(data["results"][0]["nbest"]) == 4 and data["settings"]["strength"] == 1.5
    assert data["results"][0]["nbest"] == model.transfer(["the food was good ."], to="negative", strategy="beam",
                                                         beam_size=4, strength=1.5, n_best=4)[0]
    cases = [({"text": "  \n ", "to": "negative"}, 400, "type a sentence first"),
             ({"text": "a .\n" * (MAX_SENTENCES + 1), "to": "negative"}, 400, f"at most {MAX_SENTENCES} sentences"),
             ({"text": "a" * 1001, "to": "negative"}, 400, "longer than 1000 characters"),
             ({"text": "a .", "to": "sarcastic"}, 400, "unknown style 'sarcastic'"),
             ({"text": "a .", "to": "negative", "strength": float("nan")}, 400, "strength must be between"),
             ({"text": "a .", "to": "negative", "beam": 500, "strategy": "beam"}, 400, "beam must be between"),
             ({"text": "a .", "to": "negative", "strategy": "file:///etc/passwd"}, 400, "strategy must be"),
             ({"text": "a .", "to": "negative", "rerank_lm": 1, "strategy": "beam"}, 400, "needs a language model"),
             ({"text": ["a ."], "to": "negative"}, 400, "text must be a string")]
    for body, code, message in cases:
        status, data = post(url, "/api/transfer", body)
        assert (status, message in data["error"]) == (code, True), (body, data)
    assert post(url, "/api/transfer", None, raw=b"{not json")[0] == 400
    status, data = post(url, "/api/transfer", None, raw=b"x" * (MAX_BODY + 1))
    assert status == 413 and "larger than" in data["error"]
    assert post(url, "/api/nothing", {})[0] == 404
    status, data = post(url, "/api/interpolate", {"a": "the food was good .", "b": "the staff is rude .", "steps": 4})
    assert status == 200 and len(data["path"]) == 5
    assert post(url, "/api/interpolate", {"a": "", "b": "x ."})[1]["error"] == "type a sentence first"


def test_load_200_requests_from_8_clients_none_fails(served):
    url, _ = served
    sentences = ["the food was good .", "the staff is rude .", "i love the pizza .", "the tacos are bland ."]

    def one(i):
        return post(url, "/api/transfer", {"text": sentences[i % 4], "to": ["negative", "positive"][i % 2]})[0]

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(200)))
    assert statuses == [200] * 200


def test_serve_command_bad_input(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path), "--port", "70000"]) == 2
    assert "--port: expected an integer at least 0 and at most 65535" in capsys.readouterr().err


def _browser():
    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def test_page_in_headless_chromium(served, tmp_path):
    if _browser() is None:
        pytest.skip("needs a Chromium binary (.ci/run installs one with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
    url, model = served
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_browser(),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url + "/")
        page.wait_for_function("document.querySelectorAll('#style option').length > 0")
        assert page.locator("#style option").all_text_contents() == model.label_names
        assert page.is_visible("#strength-row")  # a split-latent model: the slider is there
        # type, transfer, read the output element
        page.fill("#source", "the food was good .")
        page.select_option("#style", "negative")
        page.click("#transfer-button")
        page.wait_for_selector("#results tbody td.output")
        expected = model.transfer(["the food was good ."], to="negative")[0]
        assert page.text_content("#results tbody td.output") == expected
        # the slider: keys move it, the label follows, the next request carries the value
        page.focus("#strength")
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        assert page.input_value("#strength") == "1.5" and page.text_content("#strength-value") == "1.50"
        with page.expect_response("**/api/transfer") as response:
            page.click("#transfer-button")
        assert response.value.json()["settings"]["strength"] == 1.5
        # beam search shows the n-best list
        page.select_option("#strategy", "beam")
        page.fill("#beam", "3")
        with page.expect_response("**/api/transfer"):
            page.click("#transfer-button")
        page.wait_for_selector("details.nbest summary")
        page.click("details.nbest summary")  # open the n-best list
        assert page.locator("details.nbest li").count() == 3 and page.is_visible("details.nbest li")
        # each error is a message in the page, not a stack trace
        for text, message in (("", "type a sentence first"), ("a .\n" * 17, "at most 16 sentences"),
                              ("x" * 1001, "longer than 1000 characters")):
            page.fill("#source", text)
            page.click("#transfer-button")
            page.wait_for_function(f"document.getElementById('error').textContent.includes({json.dumps(message)})")
        page.eval_on_selector("#style", "s => { s.add(new Option('sarcastic', 'sarcastic')); s.value = 'sarcastic'; }")
        page.fill("#source", "the food was good .")
        page.click("#transfer-button")
        page.wait_for_function("document.getElementById('error').textContent.includes(\"unknown style 'sarcastic'\")")
        assert "Traceback" not in page.content()
        # a screenshot shows the controls
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot), full_page=True)
        for selector in ("#source", "#style", "#strength", "#strategy", "#transfer-button", "#error"):
            box = page.locator(selector).bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, selector
        import matplotlib.image

        pixels = matplotlib.image.imread(io.BytesIO(shot.read_bytes()), format="png")
        assert pixels.shape[1] == 1100 and pixels.std() > 0.05  # a rendered page, not a blank one
        # interpolation tab
        page.click("#tab-interpolate")
        page.fill("#interp-a", "the food was good .")
        page.fill("#interp-b", "the staff is rude .")
        page.fill("#interp-steps", "3")
        page.click("#interpolate-button")
        page.wait_for_function("document.querySelectorAll('#path li').length === 4")
        page.fill("#interp-a", "")
        page.click("#interpolate-button")
        page.wait_for_function("document.getElementById('interp-error').textContent.includes('type a sentence')")
        browser.close()
