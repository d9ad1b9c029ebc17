"""Pool files for round 7 from the snapshots of three sources already in the corpus (the same rules as the
earlier rounds: >= 15 words, <= 5,000 characters, English, exact duplicates dropped). Run from a folder holding
src/<owner>+<name>/ (the snapshots) and pool/.
"""
import csv
import json

import pandas as pd


def english(t):
    letters = [c for c in t if c.isalpha()]
    return letters and sum(c.isascii() for c in letters) / len(letters) > 0.9

def keep(t):
    return t and len(t.split()) >= 15 and len(t) <= 5000 and english(t)

def write(slug, rows):
    seen, out = set(), []
    for r in rows:
        k = " ".join(r["text"].lower().split())
        if not keep(r["text"]) or k in seen:
            continue
        seen.add(k); out.append(r)
    with open(f"pool/{slug}.jsonl", "w") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(slug, len(out))

def main():
    # yelp
    base = "src/SebasJacome+fl-gyms-bi/data/"
    biz = pd.read_parquet(base + "business.parquet").set_index("business_id")["name"].to_dict()
    rows = []
    lic = "Yelp Open Dataset Terms of Use (upstream: Yelp Open Dataset, non-commercial/academic use); repository LICENSE: Apache-2.0 (covers the repo code)"
    for path, idcol in (("data/review.parquet", "review_id"), ("data/tip.parquet", "tip_id")):
        df = pd.read_parquet(base + path.split("/")[-1])
        for i, r in enumerate(df.itertuples(index=False)):
            rows.append({"path": path, "locator": f"row {i} ({idcol}={getattr(r, idcol)})", "text": r.text,
                         "group": f"{biz.get(r.business_id, '?')} | {r.business_id}", "domain": "gyms_memberships",
                         "repo": "SebasJacome/fl-gyms-bi", "commit": "f6ee2c54d38d752085f46b8c36dbe2f73493d8f3", "licence": lic})
    write("yelp_fl_gyms", rows)

    # puregym
    p = "data/PureGym Customer Reviews_raw_filtered.csv"
    rows = []
    with open("src/joshuabdixon+PureGym-NLP-UDA/" + p, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            rows.append({"path": p, "locator": f"row {i}", "text": f"{r['Review Title']}\n{r['Review']}", "group": "PureGym",
                         "domain": "gyms_memberships", "repo": "joshuabdixon/PureGym-NLP-UDA",
                         "commit": "a91050b774c0438d8266a3b59b04b96991ced536", "licence": None})
    write("puregym_trustpilot", rows)

    # energy
    rows = []
    with open("src/CHUKWUMERI+Energy-Companies-Customer-Reviews/Energy-Data.csv", newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            rows.append({"path": "Energy-Data.csv", "locator": f"row {i}", "text": (r["Review"] or "").strip(), "group": r["Company"],
                         "domain": "home_services", "repo": "CHUKWUMERI/Energy-Companies-Customer-Reviews",
                         "commit": "6c04632a5a504239365a27533fdc3cd7c3d762da", "licence": None})
    write("uk_energy_suppliers_reviewsio", rows)


if __name__ == "__main__":
    main()
