"""Benchmark: `vocml classify` on 100,000 texts of 15-80 words vs a bare TF-IDF + logistic regression.

Not a test (CI does not time anything). Run: ``.venv/bin/python tests/bench/bench_classify.py``.
Prints texts/s and peak memory (resident set of the whole process tree, sampled every 50 ms) for
`vocml classify`, the bare pipeline's texts/s measured in this same run, and their ratio, for
``--rounds`` alternating rounds and their median.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_texts(n: int, seed: int = 7) -> list[str]:
    """n texts of 15-80 words, stitched from sentences of the project's own training and pool data."""
    sentences: list[str] = []
    for name in ("gold.jsonl", "unlabeled.jsonl"):
        path = ROOT / "data" / name
        if path.exists():
            for line in path.open(encoding="utf-8"):
                text = json.loads(line)["text"]
                sentences.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip())
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        target = rng.randint(15, 80)
        words: list[str] = []
        while len(words) < target:
            words.extend(rng.choice(sentences).split())
        out.append(" ".join(words[:target]))
    return out


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except OSError:
            pass
        stack.extend(children.get(p, []))
    return total


def run_vocml(path: Path, out: Path, workers: int) -> tuple[float, int]:
    """Wall seconds and peak tree RSS of `vocml classify`."""
    exe = Path(sys.executable).with_name("vocml")
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), "classify", str(path), "-o", str(out), "--workers", str(workers), "-q"])
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"vocml classify exited {code}")
    return elapsed, peak


def run_bare(texts: list[str], path: Path, out: Path) -> float:
    """Seconds for a bare TF-IDF + LR pipeline to read the same file, predict and write labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from vocml.data import read_records

    gold = read_records(ROOT / "data" / "gold.jsonl")
    bare = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    bare.fit([r.text for r in gold], [r.label for r in gold])
    start = time.perf_counter()
    with path.open(encoding="utf-8") as fh, out.open("w", encoding="utf-8") as w:
        batch: list[str] = []
        for line in fh:
            batch.append(json.loads(line)["text"])
            if len(batch) == 1000:
                w.writelines(json.dumps({"label": lab}) + "\n" for lab in bare.predict(batch))
                batch = []
        if batch:
            w.writelines(json.dumps({"label": lab}) + "\n" for lab in bare.predict(batch))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="number of texts")
    parser.add_argument("--workers", type=int, default=2, help="vocml classify --workers")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of bare and vocml")
    args = parser.parse_args()
    texts = make_texts(args.n)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"texts: {args.n:,} (mean {words:.0f} words, 15-80)")
    rounds: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"id": f"b{i}", "text": t}) + "\n")
        # This VM's speed drifts by tens of percent within a minute: bare and vocml alternate, and
        # each round's ratio compares two runs made seconds apart.
        for r in range(1, args.rounds + 1):
            bare_s = run_bare(texts, path, Path(tmp) / "bare.jsonl")
            vocml_s, peak = run_vocml(path, Path(tmp) / "out.jsonl", args.workers)
            lines = sum(1 for _ in (Path(tmp) / "out.jsonl").open())
            assert lines == args.n, f"expected {args.n} output rows, got {lines}"
            rounds.append((args.n / vocml_s, args.n / bare_s, peak))
            print(
                f"round {r}: vocml classify --workers {args.workers} "
                f"{args.n / vocml_s:,.0f} texts/s ({vocml_s:.1f} s), "
                f"peak memory {peak / 2**20:,.0f} MiB; bare TF-IDF + LR (1 process) {args.n / bare_s:,.0f} texts/s "
                f"({bare_s:.1f} s); ratio {bare_s / vocml_s:.2f}"
            )
    ratios = sorted(v / b for v, b, _ in rounds)
    mid = len(rounds) // 2
    print(
        f"median of {len(rounds)} rounds: vocml {sorted(v for v, _, _ in rounds)[mid]:,.0f} texts/s, "
        f"bare {sorted(b for _, b, _ in rounds)[mid]:,.0f} texts/s, ratio vocml / bare {ratios[mid]:.2f} "
        f"(rounds {ratios[0]:.2f}-{ratios[-1]:.2f}); peak memory {max(p for _, _, p in rounds) / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
