"""Which cue phrases mislead on real text: each registry phrase's precision on data/real/train.jsonl.

A phrase (with all its inflections) that fires on at least MIN_FIRES training texts, fewer than
MIN_PRECISION of which carry its cue's label, is retired: moved from `phrases` to `retired` in
vocml/cues.toml (with --write). Chosen on real-train only; the cues' precision is then reported on
real-dev by `vocml evaluate` (the model card's cue_precision).

usage: python data/real/tools/cue_phrases.py [--write]
"""
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from vocml.cues import CUES, REGISTRY_FILE, _variants, match_texts
from vocml.text import get_nlp, surface_forms_of

MIN_FIRES = 3
MIN_PRECISION = 0.6
ROOT = Path(__file__).resolve().parents[3]


def main(write: bool) -> None:
    rows = [json.loads(line) for line in (ROOT / "data/real/train.jsonl").open()]
    nlp = get_nlp()
    # Phrases of one cue that share a lemma ("ask" and "asked") match the same words: a surface form
    # counts for every phrase that produces it, so such phrases are judged, and retired, together.
    phrases_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, cue in CUES.items():
        tokens = {p: [t.lower_ for t in nlp.make_doc(p)] for p in cue.phrases}
        forms = surface_forms_of({t for toks in tokens.values() for t in toks})
        for phrase, toks in tokens.items():
            for v in _variants(toks, forms):
                phrases_of[(name, v)].add(phrase)
    fires: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row, hits in zip(rows, match_texts([r["text"] for r in rows]), strict=True):
        for name, spans in hits.items():
            seen: set[str] = set()
            for s, e in spans:
                surface = " ".join(t.lower_ for t in nlp.make_doc(row["text"][s:e]))
                seen |= phrases_of.get((name, surface), set())  # none: credited here by negation
            for phrase in seen:
                fires[(name, phrase)][0] += 1
                fires[(name, phrase)][1] += row["label"] == CUES[name].label
    retire: dict[str, list[str]] = defaultdict(list)
    for (name, phrase), (n, right) in sorted(fires.items()):
        if n >= MIN_FIRES and right / n < MIN_PRECISION:
            retire[name].append(phrase)
            print(f"retire {name:20s} {phrase!r:28s} fires {n:4d}, right {right / n:.2f}")
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
