"""Add a later labelling round to data/real/ without moving any text already there.

usage: python add_round.py ROUND CORPUS_DIR [DEV_SHARE]   (CORPUS_DIR holds rounds/ROUND/sample.jsonl, labels/ROUND_*.jsonl
and, from round 9, labels/ROUND-review.jsonl: a third reader's decisions on the round's unsure labels)

Each text keeps the row format of build_corpus.py. Its split follows its group: a group already in dev
joins dev, a group already in test is left out (test is locked: counted, not added), any other group
joins train. With DEV_SHARE (round 16 on, e.g. 0.15), a new group of a text reviewed on its own (one review, one
post) joins dev when the hash of its key falls under that share, as the first splits drew their groups, so that dev
holds the new kinds of text to choose and calibrate on (texts of an `other_` domain, and blog passages, stay in
train). Disagreements between readers need an entry in adjudicated.json. A text that is a
near-duplicate (character n-gram cosine >= 0.85) of one already in the corpus, or of an earlier one of
the round, is dropped. A text keeps the id its sample gave it (the id its readers labelled).
"""
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root: the data contract's own check
from vocml.data import UNSAFE_TEXT  # noqa: E402

REAL = HERE.parent
ADJ = json.loads((HERE / "adjudicated.json").read_text())


def hashed_share(key: str) -> float:
    """Where a group key falls in [0, 1), by its SHA-1 (no choice involved)."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 2**32


def main(round_name: str, corpus: Path, dev_share: float = 0.0) -> None:
    sample = [json.loads(line) for line in (corpus / "rounds" / round_name / "sample.jsonl").open()]
    first: dict[str, dict] = {}
    second: dict[str, dict] = {}
    for path in sorted((corpus / "labels").glob(f"{round_name}_*.jsonl")):
        target = second if path.stem.split("_")[-1].startswith("D") else first
        for line in path.open():
            row = json.loads(line)
            target[row["id"]] = row
    review_path = corpus / "labels" / f"{round_name}-review.jsonl"
    review = {d["id"]: d for d in map(json.loads, review_path.open())} if review_path.exists() else {}
    existing = {s: [json.loads(line) for line in (REAL / f"{s}.jsonl").open()] for s in ("train", "dev", "test")}
    split_of_group = {r["group"]: s for s, rows in existing.items() for r in rows}
    # a wiki page is one source page whatever the group key its slug uses: it stays in one split
    split_of_page = {(r["provenance"]["dataset"], r["provenance"]["path"]): s for s, rows in existing.items()
                     for r in rows if r["provenance"]["path"].startswith("davisWiki/")}
    per_review = {}  # the group key each slug already uses in the corpus (per review or per page)
    for rows in existing.values():
        for r in rows:
            p = r["provenance"]
            per_review[p["dataset"]] = r["group"] == f"{p['dataset']}:{p['path']}:{json.dumps(p['locator'], sort_keys=True)}"
    groups_per_slug: dict[str, set] = {}
    pool_groups: dict[str, set] = {}
    for r in sample:
        pool = corpus / "pool" / f"{r['slug']}.jsonl"
        if r["slug"] not in pool_groups:
            pool_groups[r["slug"]] = {json.loads(line)["group"] for line in pool.open()}
        groups_per_slug[r["slug"]] = pool_groups[r["slug"]]
    new: list[tuple[str, dict]] = []
    left_out = Counter()
    for r in sample:
        if UNSAFE_TEXT.search(r["text"]):  # a control character the data contract refuses: the text cannot be stored
            print("refused by the data contract (control character):", r["id"])
            continue
        a = first[r["id"]]
        readers = [a] + ([second[r["id"]]] if r["id"] in second else [])
        labels = {x["label"] for x in readers}
        adjudication = None
        if len(labels) > 1:
            if r["id"] not in ADJ:
                raise SystemExit(f"disagreement not adjudicated: {r['id']}")
            label, adjudication, sure = ADJ[r["id"]]["label"], ADJ[r["id"]]["reason"], "unsure"
        else:
            label = a["label"]
            sure = "sure" if all(x["sure"] == "sure" for x in readers) else "unsure"
        decided = review.get(r["id"])
        if decided:  # part of the round's labelling, before the text joins a split
            decided = {"label": decided["label"], "sure": decided["sure"], "reason": decided["reason"],
                       "was": label, "note": a.get("note", ""), "round": round_name}
            if decided["label"] != label:
                label, sure = decided["label"], "unsure"
        slug = r["slug"]
        many = len(groups_per_slug[slug]) >= 20 if slug not in per_review else not per_review[slug]
        many = many or r.get("one_group", False)  # a blog: one author, one group, whatever its size
        group = f"{slug}:{r['group']}" if many and r["group"] else f"{slug}:{r['path']}:{json.dumps(r['locator'], sort_keys=True)}"
        split = split_of_group.get(group) or split_of_page.get((slug, r["path"]))
        if split is None:
            to_dev = not many and not r["domain"].startswith("other") and hashed_share(group) < dev_share
            split = "dev" if to_dev else "train"
        if split == "test":
            left_out[label] += 1
            continue
        new.append((split, {
            "id": r["id"], "text": r["text"], "label": label, "sure": sure,
            "source": "customer_comment", "domain": r["domain"], "group": group, "sampling": r["sampling"],
            "readers": [{"label": x["label"], "sure": x["sure"]} for x in readers],
            **({"adjudication": adjudication} if adjudication else {}),
            **({"review": decided} if decided else {}),
            "provenance": {"dataset": slug, "repo": r["repo"], "commit": r["commit"], "path": r["path"], "locator": r["locator"]},
            "licence": r["licence"],
        }))
    from sklearn.feature_extraction.text import TfidfVectorizer

    old = [r for rows in existing.values() for r in rows]
    texts = [r["text"] for r in old] + [row["text"] for _, row in new]
    X = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    n_old = len(old)
    sims = (X[n_old:] @ X.T).tocsr()
    keep = []
    for k, (split, row) in enumerate(new):
        sim = sims.getrow(k).toarray().ravel()
        sim[n_old + k] = 0.0
        earlier = sim[: n_old + k]
        if (earlier >= 0.85).any():
            print("near-duplicate dropped:", row["id"])
            continue
        keep.append((split, row))
    for split in ("train", "dev"):
        rows = existing[split] + [row for s, row in keep if s == split]
        rows.sort(key=lambda r: r["id"])
        with (REAL / f"{split}.jsonl").open("w") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(split, "+", sum(1 for s, _ in keep if s == split), Counter(row["label"] for s, row in keep if s == split))
    print("left out (their group is in the locked test split):", sum(left_out.values()), dict(left_out))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
