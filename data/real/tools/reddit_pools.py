"""Reddit posts from a public-domain dump (umbrae/reddit-top-2.5-million: the top 1,000 posts of each of the top
2,500 subreddits, August 2013; PDDL v1.0) -> /work/corpus/pool/<slug>.jsonl

A post's text is its title and its body joined by a newline (a link post: the title alone), as in the CSV.
Kept: 15 words or more, at most 5,000 characters, English by a function-word share, no repeat of an earlier
text of the pool. The locator is the CSV's 0-based data row. `reddit_top_consumer` (round 14) takes each
subreddit's domain from the subreddit; `reddit_top_more` (round 15) and `reddit_top_services` (round 19) take it per post from the words of its
title and body (blog_pools.pick_domain), `other_reddit` when no domain's words are there.

usage: python reddit_pools.py [SLUG ...]   (the snapshot must be under /work/.mirror)
"""

import collections
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[3]))  # the repository root: the data contract's own check
from blog_pools import pick_domain  # noqa: E402

from vocml.data import UNSAFE_TEXT  # noqa: E402

REPO = "umbrae/reddit-top-2.5-million"
COMMIT = "d0efcade504b8ed735a48ddc2b15552fa924c9d9"
OUT = os.environ.get("POOL_OUT", "/work/corpus/pool")
LICENCE = (
    "ODC Public Domain Dedication and License (PDDL) v1.0, stated in repository LICENSE file; "
    "underlying posts are Reddit user content"
)
POOLS: dict[str, dict[str, str | None]] = {  # slug -> subreddit -> its domain (None: per post)
    "reddit_top_consumer": {
        "personalfinance": "banking_lending",
        "RealEstate": "real_estate",
        "HomeImprovement": "home_services",
        "cars": "car_dealers",
        "Autos": "car_dealers",
        "cordcutters": "telecom",
    },
    "reddit_top_more": {
        sub: None
        for sub in (
            "legaladvice",
            "smallbusiness",
            "Entrepreneur",
            "Frugal",
            "BuyItForLife",
            "financialindependence",
            "TalesFromRetail",
            "talesfromcallcenters",
        )
    },
    "reddit_top_services": {  # round 19: car repair and buying questions, wedding vendors, gyms, general advice
        "MechanicAdvice": "auto_service",
        "Cartalk": None,
        "weddingplanning": None,
        "Fitness": None,
        "xxfitness": None,
        "Advice": None,
    },
}
EN = set(
    "the and to of a i in was my that it is for on they with have me this not be had but at you we were from as "
    "so are an or by he she their them would all there been will if no when what our your about did do has which "
    "after out get told said could one up just than".split()
)
ES = set("el la los las de que y en un una por para con no es se lo su al del mi pero como más muy".split())


def is_english(text: str) -> bool:
    words = [w for w in re.findall(r"[a-záéíóúñü']+", text.lower()) if not re.fullmatch(r"x+", w)]
    if len(words) < 5:
        return False
    en = sum(w in EN for w in words) / len(words)
    return en >= 0.08 and en > sum(w in ES for w in words) / len(words)


def git_dir() -> str:
    base = f"/work/.mirror/{REPO.replace('/', '+')}/repo"
    return base + "/.git" if os.path.isdir(base + "/.git") else base


def build(slug: str) -> None:
    records, seen, total = [], set(), collections.Counter()
    for sub, domain in POOLS[slug].items():
        path = f"data/{sub}.csv"
        raw = subprocess.run(
            ["git", "--git-dir", git_dir(), "show", f"{COMMIT}:{path}"], capture_output=True, check=True
        ).stdout.decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(raw, newline="")))
        skipped, kept = collections.Counter(), 0
        for i, row in enumerate(rows):
            title, body = row["title"].strip(), row["selftext"].strip()
            text = "\n".join(x for x in (title, body) if x)
            if len(text.split()) < 15:
                skipped["short<15w"] += 1
            elif len(text) > 5000:
                skipped["long>5000"] += 1
            elif UNSAFE_TEXT.search(text):  # a control character the data contract refuses (vocml.data): not drawn
                skipped["control_char"] += 1
            elif not is_english(text):
                skipped["non_english"] += 1
            elif text in seen:
                skipped["dup"] += 1
            else:
                seen.add(text)
                kept += 1
                dom = domain or pick_domain(title, body).replace("other_personal_blog", "other_reddit")
                meta = {
                    "subreddit": sub,
                    "post_id": row["id"],
                    "permalink": row["permalink"],
                    "score": row["score"],
                    "created_utc": row["created_utc"],
                    "is_self": row["is_self"],
                    "flair": row["link_flair_text"],
                    "num_comments": row["num_comments"],
                }
                records.append(
                    {
                        "text": text,
                        "domain": dom,
                        "kind": "customer_comment",
                        "repo": REPO,
                        "commit": COMMIT,
                        "path": path,
                        "locator": i,
                        "licence": LICENCE,
                        "group": "",
                        "meta": meta,
                    }
                )
        print(slug, sub, len(rows), "rows", kept, "kept", dict(skipped))
        total.update(skipped)
    with open(f"{OUT}/{slug}.jsonl", "w") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(slug, len(records), dict(total))


if __name__ == "__main__":
    for name in sys.argv[1:] or POOLS:
        build(name)
