"""Which cue phrases mislead on real text: each registry phrase's precision on data/real/train.jsonl.

A phrase (with all its inflections) that fires on at least MIN_FIRES training texts, fewer than
MIN_PRECISION of which carry its cue's label (vocml.cues.misleading_phrases), is retired: moved from
`phrases` to `retired` in vocml/cues.toml (with --write). Chosen on real-train only; the cues' precision
is then reported on real-dev by `vocml evaluate` (the model card's cue_precision).

usage: python data/real/tools/cue_phrases.py [--write]
"""

import json
import re
import sys
from pathlib import Path

from vocml.cues import REGISTRY_FILE, misleading_phrases

ROOT = Path(__file__).resolve().parents[3]


def main(write: bool) -> None:
    rows = [json.loads(line) for line in (ROOT / "data/real/train.jsonl").open()]
    found = misleading_phrases([r["text"] for r in rows], [r["label"] for r in rows])
    for name, phrases in found.items():
        for phrase, n, precision in phrases:
            print(f"retire {name:20s} {phrase!r:28s} fires {n:4d}, right {precision:.2f}")
    retire = {name: [p for p, _, _ in phrases] for name, phrases in found.items()}
    print(sum(map(len, retire.values())), "phrases to retire in", len(retire), "cues")
    if write:
        text = REGISTRY_FILE.read_text()
        for block in re.split(r"(?=^\[\[cue\]\])", text, flags=re.M):
            m = re.search(r'^name = "([^"]+)"', block, re.M)
            if not m or m.group(1) not in retire:
                continue
            new = block
            for phrase in retire[m.group(1)]:
                new = new.replace(f"  {json.dumps(phrase, ensure_ascii=False)},\n", "", 1)
            listed = "".join(f"  {json.dumps(p, ensure_ascii=False)},\n" for p in retire[m.group(1)])
            if "\nretired = [\n" in new:
                new = new.replace("\nretired = [\n", "\nretired = [\n" + listed, 1)
            else:
                new = new.rstrip("\n") + (
                    "\n# fired mostly on real texts of other labels (data/real/tools/cue_phrases.py)\n"
                    f"retired = [\n{listed}]\n\n"
                )
            text = text.replace(block, new)
        REGISTRY_FILE.write_text(text)


if __name__ == "__main__":
    main("--write" in sys.argv)
