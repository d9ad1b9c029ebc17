"""Write data/real/{train,dev,test}.jsonl from the joined labels, with provenance, licence and split.

Split: grouped (a business page for sources that name many businesses, else the review's own page),
stratified by domain: ~20% of each domain's texts to test, ~15% to dev, the rest to train, groups
drawn in the order of a hash of their key (no choice involved).
"""
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from sample import stable_id  # noqa: E402

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/main/data/real")
ADJ = json.loads((HERE / "adjudicated.json").read_text()) if (HERE / "adjudicated.json").exists() else {}
DOMAIN_FIX = {"other_travel": "travel_timeshare"}


def h(s):
    return hashlib.sha1(s.encode()).hexdigest()


def main():
    joined = json.loads((HERE / "joined.json").read_text())
    items = [v for v in joined.values() if "first" in v]
    groups_per_slug = defaultdict(set)
    for v in items:
        groups_per_slug[v["row"]["slug"]].add(v["row"]["group"])
    rows = []
    for v in items:
        r = v["row"]
        readers = [v["first"]] + ([v["second"]] if "second" in v else [])
        labels = [x["label"] for x in readers]
        adjudicated = None
        if len(set(labels)) > 1:
            if r["id"] not in ADJ:  # keyed by the id the readers saw
                raise SystemExit(f"disagreement not adjudicated: {r['id']}")
            final = ADJ[r["id"]]["label"]
            adjudicated = ADJ[r["id"]]["reason"]
            sure = "unsure"
        else:
            final = labels[0]
            sure = "sure" if all(x["sure"] == "sure" for x in readers) else "unsure"
        slug = r["slug"]
        many = len(groups_per_slug[slug]) >= 20
        group = f"{slug}:{r['group']}" if many and r["group"] else f"{slug}:{r['path']}:{json.dumps(r['locator'], sort_keys=True)}"
        domain = r["domain"]
        if slug == "daviswiki_other":
            domain = "travel_timeshare" if "Travel" in r["group"] or "travel" in r["group"].lower() else "real_estate"
        rows.append({
            "id": stable_id(slug, r["path"], r["locator"]), "text": r["text"], "label": final, "sure": sure, "source": "customer_comment",
            "domain": domain, "group": group, "sampling": r["sampling"],
            "readers": [{"label": x["label"], "sure": x["sure"]} for x in readers],
            **({"adjudication": adjudicated} if adjudicated else {}),
            "provenance": {"dataset": slug, "repo": r["repo"], "commit": r["commit"], "path": r["path"], "locator": r["locator"]},
            "licence": r["licence"],
        })
    # Splits already written stay as they are (the test split is locked): a text keeps its split, and a
    # text added later goes to train (only sources whose group is the review itself are added later).
    locked = {}
    for split in ("train", "dev", "test"):
        path = OUT / f"{split}.jsonl"
        if path.exists():
            locked.update({json.loads(l)["id"]: split for l in path.open()})
    # the same review twice (reposted, or with a stray "_x000D_"): keep the first (a locked one), drop the rest
    from sklearn.feature_extraction.text import TfidfVectorizer
    rows.sort(key=lambda r: (r["id"] not in locked, r["id"]))
    X = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform([r["text"] for r in rows])
    sims = (X @ X.T).tocoo()
    drop = set()
    for i, j, c in zip(sims.row, sims.col, sims.data):
        if i < j and c >= 0.85 and i not in drop:
            drop.add(j)
    print("near-duplicates dropped:", len(drop))
    rows = [r for k, r in enumerate(rows) if k not in drop]
    # split
    by_dom = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_dom[row["domain"]][row["group"]].append(row)
    if locked:
        held_out_groups = {r["group"] for r in rows if locked.get(r["id"]) in ("dev", "test")}
        for r in rows:
            r["split"] = locked.get(r["id"], "train")
            if r["id"] not in locked and r["group"] in held_out_groups:
                raise SystemExit(f"{r['id']}: its group {r['group']} is in dev or test; it cannot join train")
        by_dom = {}
    for dom, groups in by_dom.items():
        total = sum(len(g) for g in groups.values())
        order = sorted(groups, key=h)
        n_test = n_dev = 0
        for g in order:
            size = len(groups[g])
            if n_test < 0.20 * total:
                split = "test"; n_test += size
            elif n_dev < 0.15 * total:
                split = "dev"; n_dev += size
            else:
                split = "train"
            for row in groups[g]:
                row["split"] = split
    OUT.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        part = sorted((r for r in rows if r["split"] == split), key=lambda r: r["id"])
        with (OUT / f"{split}.jsonl").open("w") as fh:
            for r in part:
                r = {k: v for k, v in r.items() if k != "split"}
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(split, len(part), Counter(r["label"] for r in part))
    print(Counter((r["domain"], r["split"]) for r in rows))


if __name__ == "__main__":
    main()
