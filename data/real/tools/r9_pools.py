"""Pool files for round 9 of two more sources already in the corpus (Singapore gym Google reviews, Fanatics
Trustpilot reviews), same rules as r7_pools.py. Run from a folder holding src/ and pool/."""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from r7_pools import write  # noqa: E402

rows = []
for f in (
    "fitness-first-georgest",
    "fitness-first-junction10",
    "fitness-first-paya",
    "fitness-first-tamp",
    "virgin-active-paya",
    "virgin-active-tanjong",
):
    p = f"datasets/{f}.csv"
    with open("src/sg/" + p, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            rows.append(
                {
                    "path": p,
                    "locator": f"row {i} (review_id={r['review_id']})",
                    "text": (r["review_text"] or "").strip(),
                    "group": "",
                    "domain": "gyms_memberships",
                    "repo": "julianacharisser/gym-reviews-sentiment-analysis",
                    "commit": "1ea4e3406753affa9c1a267dc41e56d84f2f4357",
                    "licence": None,
                }
            )
write("sg_gym_google_reviews", rows)
rows = []
p = "data/trustpilot_reviews.csv"
with open("src/adaly6+Sentiment/" + p, newline="") as fh:
    for i, r in enumerate(csv.DictReader(fh)):
        rows.append(
            {
                "path": p,
                "locator": f"row {i}",
                "text": (r["contents"] or "").strip(),
                "group": "Fanatics",
                "domain": "furniture_mattress_retail",
                "repo": "adaly6/Sentiment",
                "commit": "1beedbba9ae3db1b1384334f8a0a7cf4e865fd95",
                "licence": None,
            }
        )
write("fanatics_ecommerce_reviews", rows)
