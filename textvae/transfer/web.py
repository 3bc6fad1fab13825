"""``textvae serve``: a local web page for interactive style transfer.

One page (``textvae/transfer/static/index.html``, plain HTML and JavaScript) talks JSON to a
small server from the standard library (:class:`http.server.ThreadingHTTPServer`). We chose this
over a Gradio app because it needs nothing beyond textvae, loads nothing from the internet (Gradio
pages fetch fonts and scripts from CDNs and phone home unless told not to), and starts in a
second; the page has the controls a Gradio Blocks demo would: sentences in, target style, the
output with the judge's confidence and the n-best list, the strength slider for split-latent
and back-translation models, the reranking weights, and an interpolation tab.

Safety: it binds to 127.0.0.1 unless told otherwise, refuses bodies over :data:`MAX_BODY` bytes,
more than :data:`MAX_SENTENCES` sentences or sentences over :data:`MAX_CHARS` characters, reads no
file and writes none that a request names (requests carry text and numbers only), and answers bad
input with a JSON ``{"error": message}`` that the page shows; a bug is logged here and the page
gets one line, never a stack trace.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Dict, List, Optional

from textvae.errors import TextvaeError
from textvae.transfer.defaults import MODELS_KEYS
from textvae.transfer.interactive import judge_confidence

log = logging.getLogger("textvae")

MAX_BODY = 64 * 1024  # bytes of a request
MAX_SENTENCES = 16  # per request
MAX_CHARS = 1000  # per sentence
MAX_BEAM = 20
MAX_STEPS = 20  # interpolation points
SHOWN_BEST = 5  # n-best list length on the page


class RequestError(Exception):
    """Bad input from the page: shown there as the message (HTTP 400, or ``status``)."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def _number(request: Dict, key: str, low: float, high: float, integer: bool = False) -> Optional[float]:
    """``request[key]`` as a finite number in [low, high], or None when absent or null."""
    value = request.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RequestError(f"{key} must be a number")
    try:
        number = float(value)
    except ValueError:
        raise RequestError(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise RequestError(f"{key} must be between {low:g} and {high:g}, got {value}")
    if integer and number != int(number):
        raise RequestError(f"{key} must be a whole number, got {value}")
    return int(number) if integer else number


class TransferService:
    """The page's requests answered from a loaded model (a :class:`textvae.TextModel`); ``lm``: a
    language model for LM reranking; ``judge``: the corpus' cached judge for the confidence;
    ``scorer``: a classifier that style reranking asks instead of the model's own."""

    def __init__(self, model, lm=None, judge=None, scorer=None):
        from textvae.transfer.tune import reranking_available

        self.model, self.lm, self.judge, self.scorer = model, lm, judge, scorer
        self.lock = threading.Lock()  # one decode at a time: the CPU threads are shared anyway
        available = reranking_available(model.model, model.label_names, scorer) if model.model.can_transfer else {}
        self.rerankers = [name for name, reason in available.items() if reason is None]
        if lm is not None or model.transfer_defaults.get("rerank_lm"):
            self.rerankers.append("lm")

    def info(self) -> Dict[str, Any]:
        m = self.model
        defaults = m.transfer_settings(rerank_lm=None if "lm" in self.rerankers else 0.0, lm=self.lm,
                                       scorer=self.scorer) \
            if m.model.can_transfer else {}
        return {"name": m.config.name, "type": m.config.model.type, "styles": m.label_names,
                "can_transfer": m.model.can_transfer, "uses_strength": m.model.uses_strength,
                "can_interpolate": bool(m.model.latent_dim), "rerankers": self.rerankers,
                "defaults": {k: v for k, v in defaults.items() if k not in MODELS_KEYS},
                "defaults_source": m.transfer_defaults_source, "judge": self.judge is not None,
                "limits": {"sentences": MAX_SENTENCES, "chars": MAX_CHARS, "beam": MAX_BEAM, "steps": MAX_STEPS}}

    def _sentences(self, text: Any, what: str = "text") -> List[str]:
        if not isinstance(text, str):
            raise RequestError(f"{what} must be a string")
        sentences = [line.strip() for line in text.splitlines() if line.strip()]
        if not sentences:
            raise RequestError("type a sentence first")
        if len(sentences) > MAX_SENTENCES:
            raise RequestError(f"at most {MAX_SENTENCES} sentences at a time, got {len(sentences)}")
        long = [i + 1 for i, s in enumerate(sentences) if len(s) > MAX_CHARS]
        if long:
            raise RequestError(f"sentence {long[0]} is longer than {MAX_CHARS} characters")
        return sentences

    def transfer(self, request: Dict[str, Any]) -> Dict[str, Any]:
        m = self.model
        to = request.get("to")
        sentences = self._sentences(request.get("text"))
        try:
            m.check_transfer(str(to))  # a missing style is an unknown one here
        except TextvaeError as exc:
            raise RequestError(str(exc)) from None
        strategy = request.get("strategy")
        if strategy not in (None, "", "greedy", "beam"):
            raise RequestError(f"strategy must be greedy or beam, got {strategy!r}")
        options: Dict[str, Any] = {"strength": _number(request, "strength", -10, 10),
                                   "strategy": strategy or None,
                                   "beam_size": _number(request, "beam", 2, MAX_BEAM, integer=True)}
        for key in ("rerank", "rerank_cycle", "rerank_lm"):
            options[key] = _number(request, key, 0, 100)
        if options["rerank_lm"] and self.lm is None and not m.transfer_defaults.get("lm"):
            raise RequestError("language-model reranking needs a language model: start textvae serve with --lm DIR")
        with self.lock:
            try:
                decoding = {k: options.pop(k) for k in ("strategy", "beam_size") if options[k] is not None}
                settings = m.transfer_settings(**options, lm=self.lm, scorer=self.scorer, **decoding)
                shown = min(settings["beam_size"], SHOWN_BEST) if settings["strategy"] == "beam" else 1
                results = m.transfer(sentences, to, **settings, n_best=shown)
            except TextvaeError as exc:
                raise RequestError(str(exc)) from None
        nbest = [[best] if isinstance(best, str) else best for best in results]
        rows = [{"source": source, "output": best[0], "nbest": best} for source, best in zip(sentences, nbest)]
        if self.judge is not None:
            for row, p in zip(rows, judge_confidence(self.judge, [row["output"] for row in rows], to)):
                row["confidence"] = p
        return {"to": to, "results": rows,
                "settings": {k: v for k, v in settings.items() if k not in MODELS_KEYS and v is not None}}

    def interpolate(self, request: Dict[str, Any]) -> Dict[str, Any]:
        from textvae.reports.latent_ops import interpolate

        if not self.model.model.latent_dim:
            raise RequestError(f"this model ({self.model.config.model.type}) has no latent code to interpolate in")
        a = self._sentences(request.get("a"), "a")[0]
        b = self._sentences(request.get("b"), "b")[0]
        steps = _number(request, "steps", 1, MAX_STEPS, integer=True) or 6
        with self.lock:
            try:
                path = interpolate(self.model, [(a, b)], steps)[0]
            except TextvaeError as exc:
                raise RequestError(str(exc)) from None
        return {"a": a, "b": b, "path": path["sentences"], "bleu_to_a": path["bleu_to_a"],
                "bleu_to_b": path["bleu_to_b"]}


def page() -> bytes:
    return resources.files("textvae.transfer").joinpath("static/index.html").read_bytes()


def make_handler(service: TransferService):
    """The request handler class bound to ``service``."""
    routes = {"/api/transfer": service.transfer, "/api/interpolate": service.interpolate}

    class Handler(BaseHTTPRequestHandler):
        server_version = "textvae"

        def log_message(self, fmt, *args):  # through logging, quiet by default
            log.debug("serve: " + fmt, *args)

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: HTTPStatus, data: Dict) -> None:
            self._send(status, json.dumps(data).encode("utf-8"), "application/json; charset=utf-8")

        def do_GET(self):  # noqa: N802 (the stdlib's name)
            if self.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page(), "text/html; charset=utf-8")
            elif self.path == "/api/info":
                self._json(HTTPStatus.OK, service.info())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})

        def do_POST(self):  # noqa: N802
            try:
                handler = routes.get(self.path)
                if handler is None:
                    raise RequestError(f"no endpoint {self.path}", HTTPStatus.NOT_FOUND)
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    raise RequestError("the request needs a Content-Length", HTTPStatus.LENGTH_REQUIRED)
                if int(length) > MAX_BODY:
                    raise RequestError(f"the request is larger than {MAX_BODY // 1024} KB",
                                       HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                try:
                    request = json.loads(self.rfile.read(int(length)).decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise RequestError("the request is not JSON") from None
                if not isinstance(request, dict):
                    raise RequestError("the request must be a JSON object")
                self._json(HTTPStatus.OK, handler(request))
            except RequestError as exc:
                self.close_connection = exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE  # the body was not read
                self._json(exc.status, {"error": str(exc)})
            except Exception:  # a bug: logged here, one line for the page
                log.exception("serve: internal error")
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error (logged by textvae serve)"})

    return Handler


def make_server(service: TransferService, host: str = "127.0.0.1", port: int = 7860) -> ThreadingHTTPServer:
    """The bound server (``port`` 0: any free port; ``server.server_address`` says which)."""
    try:
        server = ThreadingHTTPServer((host, port), make_handler(service))
    except OSError as exc:
        raise TextvaeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server
