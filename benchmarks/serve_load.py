"""Load test of ``textvae serve`` on loopback (issue 22): N requests from C concurrent clients, one
test sentence each, against a server started as users start it; prints failures and latency
percentiles as a Markdown row.

    python benchmarks/serve_load.py RUN_DIR [--data DIR] [--requests 200] [--clients 8] [--threads 2]
        [--strategy greedy|beam --beam 5]

The server runs in its own process (``textvae serve --port 0``) with ``--threads`` torch threads;
the clients are threads of this process. Latency is wall time per request as the client sees it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from textvae.data.corpus import load_corpus
from textvae.errors import run_script

from train_throughput import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--data", help="corpus for the test sentences (default: the model's)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strategy", default="greedy", choices=["greedy", "beam"])
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    import textvae

    model = textvae.load(args.run, device="cpu")
    corpus = load_corpus(args.data or model.config.data.path, splits=("test",))
    texts, labels = corpus.texts("test"), corpus.labels("test")
    names = model.label_names
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    server = subprocess.Popen([sys.executable, "-m", "textvae", "serve", "--model", args.run, "--port", "0",
                               "--device", "cpu"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        url = line.split()[2].rstrip("/")
        body = {"strategy": args.strategy, **({"beam": args.beam} if args.strategy == "beam" else {})}

        def one(i: int):
            j = i % len(texts)
            data = json.dumps({**body, "text": texts[j], "to": names[(labels[j] + 1) % len(names)]}).encode()
            started = time.perf_counter()
            try:
                request = urllib.request.Request(url + "/api/transfer", data=data,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=300) as response:
                    ok = response.status == 200 and "results" in json.loads(response.read())
            except (urllib.error.URLError, OSError, ValueError):
                ok = False
            return ok, time.perf_counter() - started

        one(0)  # warm up (first decode)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(t for _, t in results)
    failed = sum(not ok for ok, _ in results)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    setting = args.strategy + (f" {args.beam}" if args.strategy == "beam" else "")
    print("| model | decoding | requests | clients | failed | p50 ms | p95 ms | max ms | requests/s | machine |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {model.config.name} | {setting} | {args.requests} | {args.clients} | {failed} | {p(0.5):.0f} | "
          f"{p(0.95):.0f} | {latencies[-1] * 1000:.0f} | {args.requests / wall:.1f} | {machine()}, "
          f"{args.threads} threads |")
    print(f"(mean {statistics.mean(latencies) * 1000:.0f} ms)")


if __name__ == "__main__":
    run_script(main)
