"""Join the readers' labels to the drawn texts; agreement on the double-labelled ones."""
import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
LABELS = ("pitch_first", "needs_first", "no_signal")


def load_round(rnd):
    rows = [json.loads(l) for l in (HERE / "rounds" / rnd / "sample.jsonl").open()]
    by_key = {(r["id"], r["text"]): i for i, r in enumerate(rows)}
    return rows, by_key


def align(batch_path, label_path):
    """(batch line index -> label dict) for one batch, tolerant to readers who wrote one line per
    distinct id when ids repeated."""
    batch = [json.loads(l) for l in batch_path.open()]
    labels = [json.loads(l) for l in label_path.open() if l.strip()]
    out = {}
    j = 0
    last = {}
    for i, b in enumerate(batch):
        if j < len(labels) and labels[j]["id"] == b["id"]:
            out[i] = labels[j]; last[b["id"]] = labels[j]; j += 1
        elif b["id"] in last:
            out[i] = last[b["id"]]
        else:
            # search ahead (a reader may have reordered a missed line)
            k = next((k for k in range(len(labels)) if labels[k]["id"] == b["id"]), None)
            if k is None:
                raise SystemExit(f"{label_path}: no label for {b['id']} (line {i})")
            out[i] = labels[k]; last[b["id"]] = labels[k]
    return batch, out


def kappa(a, b):
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[l] * cb[l] for l in LABELS) / n / n
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def main():
    texts = {}
    for rnd_dir in sorted((HERE / "rounds").iterdir()):
        if not rnd_dir.is_dir():
            continue
        rnd = rnd_dir.name
        rows, by_key = load_round(rnd)
        for bp in sorted((HERE / "batches").glob(f"{rnd}_*.jsonl")):
            lp = HERE / "labels" / bp.name
            if not lp.exists():
                continue
            batch_ids = {json.loads(l)["id"] for l in bp.open()}
            label_ids = {json.loads(l)["id"] for l in lp.open() if l.strip()}
            if not batch_ids <= label_ids:
                print(f"skipping {bp.stem}: {len(batch_ids - label_ids)} ids not labelled yet")
                continue
            batch, lab = align(bp, lp)
            kind = "first" if "_A" in bp.stem else "second"
            for i, b in enumerate(batch):
                idx = by_key[(b["id"], b["text"])]
                key = (rnd, idx)
                t = texts.setdefault(key, {"row": rows[idx]})
                lab_i = lab[i]
                if lab_i["label"] not in LABELS:
                    raise SystemExit(f"{lp}: bad label {lab_i}")
                t[kind] = {"label": lab_i["label"], "sure": lab_i.get("sure", "sure"), "note": lab_i.get("note", ""), "batch": bp.stem}
    json.dump({f"{k[0]}:{k[1]}": v for k, v in texts.items()}, (HERE / "joined.json").open("w"), ensure_ascii=False)
    firsts = [t for t in texts.values() if "first" in t]
    print("texts with a first label:", len(firsts), Counter(t["first"]["label"] for t in firsts))
    both = [t for t in texts.values() if "first" in t and "second" in t]
    if both:
        a = [t["first"]["label"] for t in both]; b = [t["second"]["label"] for t in both]
        print(f"double-labelled {len(both)}: agreement {sum(x==y for x,y in zip(a,b))/len(a):.3f}, kappa {kappa(a,b):.3f}")
        by_dom = defaultdict(list)
        for t in both:
            by_dom[t["row"]["domain"]].append(t)
        for d, ts in sorted(by_dom.items()):
            a = [t["first"]["label"] for t in ts]; b = [t["second"]["label"] for t in ts]
            print(f"  {d}: n={len(ts)} agree={sum(x==y for x,y in zip(a,b))/len(a):.3f} kappa={kappa(a,b):.3f}")
        dis = [t for t in both if t["first"]["label"] != t["second"]["label"]]
        with (HERE / "disagreements.jsonl").open("w") as fh:
            for t in dis:
                fh.write(json.dumps({"key": t["row"]["id"], "text": t["row"]["text"], "first": t["first"], "second": t["second"]}, ensure_ascii=False) + "\n")
        print("disagreements:", len(dis))


if __name__ == "__main__":
    main()
