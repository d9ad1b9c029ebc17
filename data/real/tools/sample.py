"""Draw the texts to label from the pool files: per source a uniform random sample, plus an
enriched sample (texts mentioning a sales or service interaction) drawn from the rest.

usage: python sample.py ROUND QUOTAS.json
QUOTAS: {"slug": [n_random, n_enriched], ...}
Writes rounds/ROUND/sample.jsonl (one row per drawn text, with its pool row and "sampling").
"""
import hashlib
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
MAX_CHARS = 2500
ENRICH = re.compile(
    r"\b(sales ?(man|men|person|people|rep|reps|team|pitch|guy|lady|woman|staff|consultant|associate)|"
    r"salesperson|consultant|advis[eo]r|agent|broker|loan officer|rep\b|representative|manager|"
    r"push(y|ed|ing)?|pressur\w*|upsell\w*|up-sell\w*|hard sell|sold (me|us)|oversold|pitch\w*|"
    r"sign(ed)? up|contract|membership|deal\b|discount\w*|offer(ed)?|promis\w*|"
    r"listen\w*|asked (me|us|about|what)|my needs|our needs|what (i|we) (needed|wanted)|"
    r"recommend\w*|took the time|understood|no pressure|tour|trial|quote[ds]?|"
    r"told (me|us)|explain\w*)\b",
    re.I,
)


# round 2 on: texts that mention a selling or advising person or the approach itself
STRONG = re.compile(
    r"\b(sales ?(man|men|person|people|rep|reps|team|pitch|guy|lady|woman|staff|consultant|associate|tactics?)|"
    r"salesperson|push(y|ed me|ing)|pressur\w*|upsell\w*|up-sell\w*|hard sell|sold (me|us)|oversold|mis-?sold|"
    r"pitch\w*|listen(ed|s) to|asked (me|us) (what|about|how|if)|my needs|our needs|what (i|we) (needed|wanted)|"
    r"recommend(ed)? |took the time|no pressure|not pushy|never push\w*|talked (me|us) (into|out of)|"
    r"convinc\w*|persuad\w*|scam\w*|bait|promised|lied|misled|mislead\w*|honest|advis(ed|or)|"
    r"consultant|loan officer|agent (was|who)|explained (my|our|the) options|options)\b",
    re.I,
)


def stable_id(slug: str, path: str, locator: object) -> str:
    return "r" + hashlib.sha1(f"{slug}|{path}|{json.dumps(locator, sort_keys=True)}".encode()).hexdigest()[:10]


def taken_and_test_groups(round_name: str) -> tuple[set, set]:
    """Ids no new round may draw (drawn in another round, in the corpus, or labelled before) and the groups
    of the locked test split (and, for the Davis Wiki, its pages)."""
    taken = set()
    for prev in (HERE / "rounds").glob("*/sample.jsonl"):
        if prev.parent.name != round_name:
            taken |= {json.loads(l)["id"] for l in prev.open()}
            taken |= {stable_id(r["slug"], r["path"], r["locator"]) for r in map(json.loads, prev.open())}
    test_groups = set()
    for split in ("train", "dev", "test"):  # texts already in the corpus
        for l in open(f"/work/main/data/real/{split}.jsonl"):
            r = json.loads(l)
            taken.add(r["id"])
            if split == "test":
                test_groups.add(r["group"])
                if r["provenance"]["path"].startswith("davisWiki/"):  # a wiki page is one source page
                    test_groups.add(f"{r['provenance']['dataset']}:page:{r['provenance']['path']}")
    for lab in Path("/work/main/data/real/labels").glob("*.jsonl"):  # labelled before, left out of test groups
        taken |= {json.loads(l)["id"] for l in lab.open()}
    return taken, test_groups


def eligible_rows(slug: str, taken: set, test_groups: set) -> list[tuple[str, dict]]:
    """A pool's texts a round may draw, as (id, pool row), in pool order: not too long, not a repeat of an
    earlier text of the pool, not taken, and not of a group (or wiki page) in the locked test split."""
    pool = [json.loads(l) for l in (HERE / "pool" / f"{slug}.jsonl").open()]
    seen_text = set()
    eligible = []
    for row in pool:
        key = " ".join(row["text"].lower().split())
        rid = stable_id(slug, row["path"], row["locator"])
        if len(row["text"]) > MAX_CHARS or key in seen_text or rid in taken or f"{slug}:{row['group']}" in test_groups \
                or f"{slug}:page:{row['path']}" in test_groups:
            continue
        seen_text.add(key)
        eligible.append((rid, row))
    return eligible


def main(round_name: str, quotas_path: str) -> None:
    quotas = json.loads(Path(quotas_path).read_text())
    out_dir = HERE / "rounds" / round_name
    out_dir.mkdir(parents=True, exist_ok=True)
    taken, test_groups = taken_and_test_groups(round_name)
    rows_out = []
    for slug, (n_random, n_enriched) in quotas.items():
        rng = random.Random(f"{round_name}:{slug}")
        eligible = eligible_rows(slug, taken, test_groups)
        rng.shuffle(eligible)
        rand = eligible[:n_random]
        pattern = ENRICH if round_name == "r1" else STRONG
        rest = [x for x in eligible[n_random:] if pattern.search(x[1]["text"])]
        if round_name in ("r7", "r8"):  # the strict list is nearly used up: the broad list after it
            rest += [x for x in eligible[n_random:] if not STRONG.search(x[1]["text"]) and ENRICH.search(x[1]["text"])]
        enr = rest[:n_enriched]
        for how, part in (("random", rand), ("enriched", enr)):
            for rid, row in part:
                rows_out.append({"id": rid, "slug": slug, "sampling": how, **row})
        print(f"{slug}: eligible {len(eligible)}, random {len(rand)}, enriched {len(enr)} (of {len(rest)} matching)")
    with (out_dir / "sample.jsonl").open("w") as fh:
        for r in rows_out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("total", len(rows_out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
