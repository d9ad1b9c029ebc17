"""Recount the figures of data/SOURCES.md's table (rows per split, sampling, labels) from data/real/.

usage: python sources_table.py   (rewrites the count columns in place; the other columns are kept)
"""

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

REAL = Path(__file__).parent.parent
SOURCES = REAL.parent / "SOURCES.md"
HEADER = (
    "| dataset | repository @ commit | domain | what | rows (train/dev/test) | sampling (random/enriched/model-ranked) "
    "| labels (pitch/needs/none) | licence |"
)


def main() -> None:
    count: dict[str, Counter] = defaultdict(Counter)
    for split in ("train", "dev", "test"):
        for line in (REAL / f"{split}.jsonl").open():
            r = json.loads(line)
            for key in (r["provenance"]["dataset"], "all"):
                c = count[key]
                c["rows"] += 1
                c[split] += 1
                c[r["sampling"]] += 1
                c[r["label"]] += 1
                c["domain:" + r["domain"]] += 1

    def cells(c: Counter) -> list[str]:
        return [
            f"{c['rows']} ({c['train']}/{c['dev']}/{c['test']})",
            f"{c['random']}/{c['enriched']}/{c['model_ranked']}",
            f"{c['pitch_first']}/{c['needs_first']}/{c['no_signal']}",
        ]

    out = []
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        if line.startswith("| dataset | repository"):
            line = HEADER
        else:
            m = re.match(r"^\| (\w+|\*\*all\*\*) \|", line)
            if m and line.count("|") == 9:
                if m.group(1) == "**all**":
                    domains = sum(1 for k in count["all"] if k.startswith("domain:"))
                    line = " | ".join(["| **all** |", f"{domains} domains |", *cells(count["all"]), " |"]).replace(
                        "|  |", "| |"
                    )
                else:
                    parts = line.split(" | ")
                    parts[4:7] = cells(count[m.group(1)])
                    line = " | ".join(parts)
        out.append(line)
    SOURCES.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
