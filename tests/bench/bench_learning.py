"""Benchmark (not a test): does labelling in the review queue's order teach the model more than labelling
at random?

Real-dev texts (never trained on) stand in for one customer's records: grouped by page, 65% are the
customer's unlabelled pool, 35% held out. Starting from the shipped recipe, 300 pool texts are labelled
(their readers' labels) in the order of the review queue (`service.review_queue.pick`: least confident
first, spread over what the model found), or drawn at random (three seeds), then added to the training
data and the model retrained; each is scored on the held-out texts. Prints macro-F1 and direction.

    .venv/bin/python tests/bench/bench_learning.py [--n 300] [--seeds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from service.review_queue import pick  # noqa: E402
from vocml import load_model  # noqa: E402
from vocml.data import read_records  # noqa: E402
from vocml.evaluate import evaluate  # noqa: E402
from vocml.train import load_config, load_data_config, train  # noqa: E402


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    def held_out(row: dict) -> bool:
        return int(hashlib.sha1(row["group"].encode()).hexdigest(), 16) % 100 < 35

    return [r for r in rows if not held_out(r)], [r for r in rows if held_out(r)]


def write(rows: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"id": r["id"], "text": r["text"], "label": r["label"], "source": r["source"]}) + "\n")
    return path


def score(model_dir: Path | None, held: Path) -> tuple[float, float | None]:
    model = load_model(model_dir)
    result = evaluate(model, read_records(held, require_label=True))
    return result["macro_f1"], result.get("direction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (ROOT / "data/real/dev.jsonl").open(encoding="utf-8")]
    pool, held_rows = split(rows)
    tmp = Path(tempfile.mkdtemp(prefix="vocml-learning-"))
    held = write(held_rows, tmp / "held.jsonl")
    pool_file = write(pool, tmp / "pool.jsonl")
    signal = sum(r["label"] != "no_signal" for r in held_rows)
    print(f"pool {len(pool)} texts, held out {len(held_rows)} ({signal} with a signal)")
    base_f1, base_dir = score(None, held)
    print(f"shipped model: macro-F1 {base_f1:.3f}, direction {base_dir:.3f}")

    shipped = load_model()
    preds = shipped.classify([r["text"] for r in pool])
    candidates = [
        {**r, "confidence": p.confidence, "group": (p.cues[0] if p.cues else "", p.label)}
        for r, p in zip(pool, preds, strict=True)
    ]
    candidates.sort(key=lambda c: c["confidence"])
    files, _, rationales, _ = load_data_config(ROOT / "data/train.toml")
    params = load_config(ROOT / "data/train.toml")  # the shipped recipe's pipeline settings

    def retrain(chosen: list[dict], name: str) -> tuple[float, float | None]:
        extra = write(chosen, tmp / f"{name}.jsonl")
        started = time.perf_counter()
        train(
            [str(p) for p, _ in files] + [str(extra)],
            tmp / name,
            weights=[w for _, w in files] + [1.0],
            folds=0,
            params=params,
            calibrate=pool_file,
            version=name,
            rationales=rationales,
        )
        f1, direction = score(tmp / name, held)
        signal = sum(c["label"] != "no_signal" for c in chosen)
        print(
            f"{name}: {len(chosen)} labelled ({signal} with a signal): macro-F1 {f1:.3f}, direction {direction:.3f} "
            f"[{time.perf_counter() - started:.0f} s]"
        )
        return f1, direction

    queue_f1, _ = retrain(pick(candidates, args.n), "queue")
    randoms = [retrain(random.Random(seed).sample(pool, args.n), f"random-{seed}")[0] for seed in range(args.seeds)]
    mean = sum(randoms) / len(randoms)
    print(
        f"queue {queue_f1:.3f} vs random {mean:.3f} (mean of {len(randoms)}): {queue_f1 - mean:+.3f}; "
        f"both against the shipped {base_f1:.3f}"
    )


if __name__ == "__main__":
    main()
