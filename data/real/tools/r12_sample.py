"""Round 12 draw: more of round 11's ConsumerAffairs pool (mortgage lenders and a gold-IRA dealer) and passages
of the personal blogs found in round 12's collecting session.

- consumeraffairs_mortgage_gold: Patriot Gold Group reviews (a gold-IRA dealer selling on the phone) at random,
  then lender reviews: a uniform random draw and a draw among the rest that match the strict sales-word list
  of rounds 2-9 (sample.py's STRONG).
- blogs (BLOGS below): as round 10, passages of posts about a seller or service domain (the pool's per-post
  domain): those matching the broad word list of round 1 (ENRICH), then others at random, up to a cap per blog;
  plus a few passages of the blog's other posts at random (what a blog mostly is). Topic passages are
  recorded as 'enriched', the others as 'random'.

Run from a folder holding pool/ and rounds/ (the pool files are rebuilt from the snapshots by the collecting
scripts; see data/real/sources/).
"""

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from sample import ENRICH, STRONG, eligible_rows, taken_and_test_groups  # noqa: E402

ROUND = "r12"
LENDERS = {"random": 200, "enriched": 450}
GOLD = 300
BLOGS: dict[str, tuple[int, int]] = {  # slug -> (topic passages at most, other passages at random)
    "blog_dkranch": (300, 30),
    "blog_hendrixjoseph": (300, 30),
    "blog_mattstratton": (300, 30),
    "blog_willfaught": (300, 30),
}


def row_out(rid: str, slug: str, how: str, row: dict, **extra: object) -> dict:
    return {"id": rid, "slug": slug, "sampling": how, **row, **extra}


def draw_blogs(round_name: str, blogs: dict[str, tuple[int, int]], taken: set, test_groups: set) -> list[dict]:
    """Per blog: topic passages (posts about a seller or service domain) matching ENRICH, then the others, in a
    seeded random order, up to the cap ('enriched'); and some passages of other posts at random ('random')."""
    out = []
    for slug, (cap, others) in blogs.items():
        rng = random.Random(f"{round_name}:{slug}")
        eligible = eligible_rows(slug, taken, test_groups)
        topic = [x for x in eligible if not x[1]["domain"].startswith("other")]
        other = [x for x in eligible if x[1]["domain"].startswith("other")]
        match = [x for x in topic if ENRICH.search(x[1]["text"])]
        rest = [x for x in topic if not ENRICH.search(x[1]["text"])]
        rng.shuffle(match)
        rng.shuffle(rest)
        rng.shuffle(other)
        chosen = (match + rest)[:cap]
        for how, part in (("enriched", chosen), ("random", other[:others])):
            for rid, row in part:
                out.append(
                    row_out(rid, slug, how, row, locator={"paragraphs": row["meta"]["paragraph_lines"]}, one_group=True)
                )
        print(
            f"{slug}: topic {len(topic)} ({len(match)} matching), drawn {len(chosen)} + {min(others, len(other))} others"
        )
    return out


def write(round_name: str, out: list[dict]) -> None:
    (HERE / "rounds" / round_name).mkdir(parents=True, exist_ok=True)
    with (HERE / "rounds" / round_name / "sample.jsonl").open("w") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("total", len(out), "words", sum(len(r["text"].split()) for r in out))


def main() -> None:
    taken, test_groups = taken_and_test_groups(ROUND)
    out = []
    slug = "consumeraffairs_mortgage_gold"
    eligible = eligible_rows(slug, taken, test_groups)
    gold = [x for x in eligible if x[1]["group"] == "Patriot Gold Group"]
    lenders = [x for x in eligible if x[1]["group"] != "Patriot Gold Group"]
    rng = random.Random(f"{ROUND}:{slug}")
    rng.shuffle(gold)
    gold = gold[:GOLD]
    rng.shuffle(lenders)
    rand = lenders[: LENDERS["random"]]
    enr = [x for x in lenders[LENDERS["random"] :] if STRONG.search(x[1]["text"])][: LENDERS["enriched"]]
    for how, part in (("random", gold + rand), ("enriched", enr)):
        out += [row_out(rid, slug, how, row) for rid, row in part]
    print(f"{slug}: Patriot Gold {len(gold)}, lenders random {len(rand)}, enriched {len(enr)}")
    out += draw_blogs(ROUND, BLOGS, taken, test_groups)
    write(ROUND, out)


if __name__ == "__main__":
    main()
