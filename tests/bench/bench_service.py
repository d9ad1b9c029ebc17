"""Benchmark of the service (a script, not a test): `vocml serve --workers 2` on localhost.

Run: ``.venv/bin/python tests/bench/bench_service.py``. Everything runs on 127.0.0.1 with a temporary
database; all loops are bounded. It prints:

1. ``POST /v1/classify`` with one text at concurrency 8: p50, p99 and requests/s;
2. the same against a bare FastAPI app (same uvicorn settings, 2 workers) that runs a plain
   TfidfVectorizer + LogisticRegression ``predict`` (trained here on data/gold.jsonl), and the ratio;
   both servers get the same 1,000 warm-up requests, then the load alternates between them in four
   rounds, every measured request with a text not sent before;
3. the upload of a 100,000-row CSV until the batch is ``done`` (rows/s);
4. ``GET /v1/trends`` over 1,000,000 stored records (inserted directly with SQL, counts included), p50.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import make_texts  # noqa: E402  (one text generator for every benchmark)

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 4  # classify load alternates between the two servers this many times
TARGETS = {"p99_ms": 25.0, "ratio": 0.5, "upload_s": 60.0, "trends_p50_ms": 100.0}

BARE_APP = textwrap.dedent(
    '''
    """A bare FastAPI endpoint: TF-IDF + logistic regression predict on one text (the ceiling)."""
    import json
    from pathlib import Path

    from fastapi import FastAPI
    from pydantic import BaseModel
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline


    class Item(BaseModel):
        text: str


    class Body(BaseModel):
        items: list[Item]


    def create_app():
        rows = [json.loads(line) for line in Path({gold!r}).open(encoding="utf-8")]
        model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
        model.fit([r["text"] for r in rows], [r["label"] for r in rows])
        app = FastAPI()

        @app.post("/v1/classify")
        def classify(body: Body):
            labels = model.predict([i.text for i in body.items])
            return {{"results": [{{"label": str(label)}} for label in labels]}}

        @app.get("/healthz")
        def healthz():
            return {{"status": "ok"}}

        return app
    '''
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} did not become healthy in {timeout:.0f} s")


def load(
    url: str, headers: dict[str, str], texts: list[str], concurrency: int, requests: int, warm: list[str]
) -> dict[str, float]:
    """POST one text per request from ``concurrency`` threads (one keep-alive connection each); ms and req/s.

    Each measured request sends a text not sent before (``texts`` must hold ``requests`` of them), after
    the server has answered the ``warm`` texts: a running server has seen traffic, but not these texts.

    The client is the standard library's ``http.client`` with bodies encoded up front: the load generator
    shares this 2-core machine with the server, and a heavier client (httpx costs ~1 ms of CPU per request,
    under one GIL for all 8 threads) inflates the tail of whichever server is measured.
    """
    parsed = urlsplit(url)
    if len(texts) < requests:
        raise SystemExit(f"need {requests} distinct texts, got {len(texts)}")
    bodies = [json.dumps({"items": [{"text": t}]}).encode() for t in texts]
    warm_bodies = [json.dumps({"items": [{"text": t}]}).encode() for t in warm]
    send_headers = {**headers, "Content-Type": "application/json"}
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    failures: list[str] = []

    def post(conn: http.client.HTTPConnection, body: bytes) -> None:
        conn.request("POST", "/v1/classify", body=body, headers=send_headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"classify returned {response.status}: {payload[:200]!r}")

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for body in warm_bodies[index::concurrency]:  # warm the server and the connection
                post(conn, body)
            barrier.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                post(conn, bodies[i])
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
        except Exception as e:  # reported after the run; a failed request must not go unnoticed
            failures.append(str(e))
            if not barrier.broken:
                barrier.abort()
        finally:
            conn.close()

    barrier = threading.Barrier(concurrency + 1)
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: reported below
        barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(600)
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} client(s) failed: {failures[0]}")
    return {"latencies": latencies, "seconds": elapsed}


def summarise(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """p50, p99 and requests/s over every measured request of a server's rounds."""
    latencies = sorted(x for r in rounds for x in r["latencies"])
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / sum(r["seconds"] for r in rounds),
    }


def start_vocml(tmp: Path, port: int, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "VOCML_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "VOCML_SPOOL_DIR": str(tmp / "spool"),
    }
    exe = Path(sys.executable).with_name("vocml")
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(workers)], cwd=tmp, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    token = None
    while token is None and time.monotonic() < deadline:
        match = re.search(r"#token=(vocml_[A-Za-z0-9_\-]+)", (tmp / "serve.log").read_text(errors="replace"))
        token = match.group(1) if match else None
        time.sleep(0.1)
    if token is None:
        proc.terminate()
        raise SystemExit("vocml serve did not print the first admin token")
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc, token


def start_bare(tmp: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    (tmp / "bare_app.py").write_text(BARE_APP.format(gold=str(ROOT / "data" / "gold.jsonl")), encoding="utf-8")
    # The same launcher as `vocml serve` (uvicorn, TCP_NODELAY listening socket), so only the app differs.
    code = (
        "from service.cli import run_uvicorn; "
        f"run_uvicorn('bare_app:create_app', host='127.0.0.1', port={port}, workers={workers})"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "bare.log").open("wb"),
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def upload_csv(url: str, headers: dict[str, str], tmp: Path, n: int) -> dict[str, float]:
    teams = ["EMEA", "APAC", "AMER", "DACH", "Nordics"]
    texts = make_texts(min(n, 20_000), seed=11)
    path = tmp / "upload.csv"
    start_day = date(2025, 1, 1)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,text,team,source,created_at\n")
        for i in range(n):
            text = texts[i % len(texts)].replace('"', '""')
            day = start_day + timedelta(days=i % 365)
            source = "call_note" if i % 2 else "customer_comment"
            fh.write(f'u{i},"{text} #{i}",{teams[i % len(teams)]},{source},{day.isoformat()}\n')
    started = time.perf_counter()
    with path.open("rb") as fh:
        r = httpx.post(
            f"{url}/v1/batches", files={"file": ("upload.csv", fh, "text/csv")}, headers=headers, timeout=600
        )
    if r.status_code != 202:
        raise SystemExit(f"upload returned {r.status_code}: {r.text[:300]}")
    batch_id = r.json()["id"]
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/v1/batches/{batch_id}?errors_limit=1", headers=headers, timeout=30).json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the batch did not finish in 15 minutes")
    elapsed = time.perf_counter() - started
    if body["status"] != "done" or body["rows_stored"] != n:
        raise SystemExit(f"batch ended {body['status']} with {body['rows_stored']} rows: {body.get('error')}")
    return {"seconds": elapsed, "rows_per_s": n / elapsed, "mb": path.stat().st_size / 2**20}


def insert_million(db: Path, n: int, teams: int = 10, days: int = 730) -> None:
    """Insert n records and their label counts straight into the SQLite file (fast path for the benchmark)."""
    rng = random.Random(5)
    labels = ["pitch_first", "needs_first", "no_signal"]
    sources = ["call_note", "customer_comment"]
    prediction = json.dumps(
        {"scores": {"pitch_first": 0.4, "needs_first": 0.4, "no_signal": 0.2}, "cues": [], "evidence": []}
    )
    first = date(2024, 1, 1)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    con = sqlite3.connect(db, timeout=60)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    batch: list[tuple[Any, ...]] = []
    now = "2026-01-01 00:00:00.000000"
    for i in range(n):
        team = f"team{i % teams:02d}"
        day = first + timedelta(days=rng.randrange(days))
        label = labels[rng.choices(range(3), weights=(4, 4, 2))[0]]
        source = sources[i % 2]
        counts[(team, source, day.isoformat(), label)] += 1
        batch.append(
            (
                team,
                f"m{i}",
                f"synthetic text {i}",
                source,
                f"{day.isoformat()} 12:00:00.000000",
                day.isoformat(),
                label,
                0.8,
                0,
                prediction,
                now,
            )
        )
        if len(batch) == 50_000:
            con.executemany(
                "INSERT INTO records (team, external_id, text, source, created_at, day, label, confidence, uncertain,"
                " prediction, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                batch,
            )
            con.commit()
            batch = []
    if batch:
        con.executemany(
            "INSERT INTO records (team, external_id, text, source, created_at, day, label, confidence, uncertain,"
            " prediction, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
    con.executemany(
        "INSERT INTO label_counts (team, source, day, label, kind, n) VALUES (?,?,?,?,'model',?)"
        " ON CONFLICT (team, source, day, label, kind) DO UPDATE SET n = n + excluded.n",
        [(t, s, d, lab, n) for (t, s, d, lab), n in counts.items()],
    )
    con.commit()
    con.close()


def trends_p50(url: str, headers: dict[str, str], rounds: int = 30) -> dict[str, float]:
    times = {}
    with httpx.Client(timeout=30) as client:
        for period in ("week", "month"):
            samples = []
            for i in range(rounds):
                t0 = time.perf_counter()
                r = client.get(
                    f"{url}/v1/trends", params={"team": f"team{i % 10:02d}", "period": period}, headers=headers
                )
                samples.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200 or not r.json()["points"]:
                    raise SystemExit(f"trends returned {r.status_code}: {r.text[:200]}")
            times[period] = statistics.median(samples)
        t0 = time.perf_counter()
        client.get(f"{url}/v1/teams", headers=headers)
        times["teams"] = (time.perf_counter() - t0) * 1000
    return times


def print_classify(args: argparse.Namespace, results: dict[str, Any]) -> None:
    v, b = results["vocml"], results["bare"]
    print(
        f"POST /v1/classify, 1 text, concurrency {args.concurrency}, {args.requests} requests, --workers {args.workers}"
    )
    print(f"  vocml serve         p50 {v['p50_ms']:6.1f} ms  p99 {v['p99_ms']:6.1f} ms  {v['rps']:7.1f} req/s")
    print(f"  bare TF-IDF + LR    p50 {b['p50_ms']:6.1f} ms  p99 {b['p99_ms']:6.1f} ms  {b['rps']:7.1f} req/s")
    print(
        f"  throughput ratio vocml / bare: {v['rps'] / b['rps']:.2f}  "
        f"(target >= {TARGETS['ratio']}; p99 target <= {TARGETS['p99_ms']:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="classify requests per server")
    parser.add_argument("--warmup", type=int, default=1000, help="requests (other texts) before measuring")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes for both servers")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the uploaded CSV")
    parser.add_argument("--records", type=int, default=1_000_000, help="records stored for the trends query")
    parser.add_argument("--classify-only", action="store_true", help="skip the upload and trends parts")
    args = parser.parse_args()
    # distinct texts: the warm-up set, then one per measured request for each server
    texts = make_texts(args.warmup + 2 * args.requests, seed=23)
    warm = texts[: args.warmup]
    vocml_texts = texts[args.warmup : args.warmup + args.requests]
    bare_texts = texts[args.warmup + args.requests :]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vocml-bench-") as name:
        tmp = Path(name)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc, token = start_vocml(tmp, port, args.workers)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            bare_port = free_port()
            bare = start_bare(tmp, bare_port, args.workers)
            bare_url = f"http://127.0.0.1:{bare_port}"
            # Alternate rounds so both servers meet the same machine (this VM's speed drifts under load).
            per_round = args.requests // ROUNDS
            rounds: dict[str, list[dict[str, Any]]] = {"vocml": [], "bare": []}
            try:
                for r in range(ROUNDS):
                    part = slice(r * per_round, (r + 1) * per_round)
                    first_warm = warm if r == 0 else []
                    rounds["vocml"].append(
                        load(url, headers, vocml_texts[part], args.concurrency, per_round, first_warm)
                    )
                    rounds["bare"].append(load(bare_url, {}, bare_texts[part], args.concurrency, per_round, first_warm))
            finally:
                stop(bare)
            results["vocml"], results["bare"] = summarise(rounds["vocml"]), summarise(rounds["bare"])
            if args.classify_only:
                print_classify(args, results)
                return
            results["upload"] = upload_csv(url, headers, tmp, args.rows)
            t0 = time.perf_counter()
            insert_million(tmp / "bench.db", args.records)
            results["insert_s"] = time.perf_counter() - t0
            results["trends"] = trends_p50(url, headers)
        finally:
            stop(proc)
    print_classify(args, results)
    u, t = results["upload"], results["trends"]
    print(
        f"upload {args.rows:,} rows ({u['mb']:.1f} MB CSV) until done: "
        f"{u['seconds']:.1f} s, {u['rows_per_s']:,.0f} rows/s "
        f"(target <= {TARGETS['upload_s']:.0f} s)"
    )
    print(
        f"GET /v1/trends over {args.records + args.rows:,} records: "
        f"p50 week {t['week']:.1f} ms, month {t['month']:.1f} ms "
        f"(target <= {TARGETS['trends_p50_ms']:.0f} ms); GET /v1/teams {t['teams']:.1f} ms "
        f"(records inserted in {results['insert_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
