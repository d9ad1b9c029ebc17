"""Round 10 draw: passages of six personal blogs kept on GitHub (pools built by a collecting session: every
post split into passages of one paragraph or consecutive paragraphs up to ~250 words; see
data/real/sources/personal_blogs.md). Only passages of posts about a seller or service domain were drawn
(the pool's per-post domain, from the post's words; posts about anything else are 'other' and not read):
every such passage of five blogs, and of the sixth (Critical MAS, 18,171 passages, most of them readers'
comments) the topic passages that mention a sales or service interaction (the broad word list of round 1)
plus 100 of its other topic passages at random. All are recorded as 'enriched' (chosen by topic words).
The locator is the post's paragraphs as 1-based [first, last] line pairs; the text is those paragraphs,
each stripped, joined by a blank line. Run from a folder holding pool/ and rounds/.
"""

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from sample import ENRICH, MAX_CHARS, stable_id  # noqa: E402

BLOGS = ("blog_arthurzey", "blog_digitalcolony", "blog_djedi", "blog_localshred", "blog_rfinnie", "blog_tillig")
SAMPLED = {"blog_digitalcolony": 100}  # random extra topic passages beyond those matching the word list

out = []
for slug in BLOGS:
    topic = [json.loads(line) for line in (HERE / "pool" / f"{slug}.jsonl").open()]
    topic = [r for r in topic if not r["domain"].startswith("other") and len(r["text"]) <= MAX_CHARS]
    if slug in SAMPLED:
        match = [r for r in topic if ENRICH.search(r["text"])]
        rest = [r for r in topic if not ENRICH.search(r["text"])]
        random.Random(f"r10:{slug}").shuffle(rest)
        topic = match + rest[: SAMPLED[slug]]
    for r in topic:
        locator = {"paragraphs": r["meta"]["paragraph_lines"]}
        out.append(
            {
                "id": stable_id(slug, r["path"], locator),
                "slug": slug,
                "sampling": "enriched",
                "text": r["text"],
                "path": r["path"],
                "locator": locator,
                "group": r["group"],
                "domain": r["domain"],
                "repo": r["repo"],
                "commit": r["commit"],
                "licence": r["licence"],
                "one_group": True,
            }
        )
    print(slug, len(topic))
(HERE / "rounds" / "r10").mkdir(parents=True, exist_ok=True)
with (HERE / "rounds" / "r10" / "sample.jsonl").open("w") as fh:
    for r in out:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
print("total", len(out), "words", sum(len(r["text"].split()) for r in out))
