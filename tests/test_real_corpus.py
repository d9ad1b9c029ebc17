"""The real corpus in data/real/: contract, provenance and licence of every row, splits, agreement.

Every row must resolve to its source: the repository and commit in data/SOURCES.md, a path and a locator.
Where a source's snapshot is on this machine (the search tool's ``fetch`` puts them under /work/.mirror),
the Davis Wiki lines and the CSV rows are read back and must hold the text.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from vocml.data import LABELS, read_records

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "data" / "real"
SOURCES = ROOT / "data" / "SOURCES.md"
RESERVED = ROOT.parent / "shared" / "RESERVED.md"
MIRRORS = Path("/work/.mirror")
SPLITS = ("train", "dev", "test")
DOMAINS_AT_LEAST = 8
OWN_CSV_LAYOUT = {"capterra_nocode_reviews"}  # a title line before the header: see data/real/sources/
API_EXPORT = {"g2_marketing_solutions"}  # each row's review is a Python-literal dict in its ``attributes`` column
NO_HEADER = {"tripadvisor_lasvegas_hotels"}
STAMP = re.compile(r"^\d{8} \d{2}:\d{2}:\d{2} nbsp ?")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    out = []
    for split in SPLITS:
        for line in (REAL / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            out.append({**json.loads(line), "split": split})
    return out


def test_every_split_reads_with_the_data_contract() -> None:
    for split in SPLITS:
        records = read_records(REAL / f"{split}.jsonl", require_label=True)
        assert records and all(r.source == "customer_comment" for r in records)


def test_size_domains_and_locked_test_split(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 4000
    by_split = Counter(r["split"] for r in rows)
    assert by_split["test"] >= 800, by_split
    domains = Counter(r["domain"] for r in rows)
    assert len([d for d in domains if not d.startswith("other_")]) >= DOMAINS_AT_LEAST, domains
    for domain in domains:  # stratified: every domain is in every split
        if domain.startswith("other_"):  # texts of no listed domain (a blog's other posts, credit reports): train only
            assert {r["split"] for r in rows if r["domain"] == domain} == {"train"}, domain
            continue
        assert {r["split"] for r in rows if r["domain"] == domain} == set(SPLITS), domain
    assert set(Counter(r["label"] for r in rows)) == set(LABELS)


def test_rows_carry_labels_readers_and_sampling(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        assert r["label"] in LABELS and r["sure"] in ("sure", "unsure"), r["id"]
        assert r["sampling"] in ("random", "enriched", "model_ranked"), r["id"]
        readers = [x["label"] for x in r["readers"]]
        assert 1 <= len(readers) <= 2 and all(lab in LABELS for lab in readers), r["id"]
        settled = readers[0]
        if len(set(readers)) > 1:  # a disagreement is settled by the guide, and says how
            assert r.get("adjudication") and r["sure"] == "unsure", r["id"]
            settled = r["label"] if "review" not in r else r["review"]["was"]
        if "review" in r:  # a doubted label, decided again by a third reader against the guide
            review = r["review"]
            assert review["was"] == settled and review["reason"], r["id"]
            assert r["label"] == review["label"] and (review["label"] == settled or r["sure"] == "unsure"), r["id"]
        else:
            assert r["label"] == settled, r["id"]
    assert len({r["id"] for r in rows}) == len(rows)


def test_no_group_spans_two_splits(rows: list[dict[str, Any]]) -> None:
    splits_of: dict[str, set[str]] = {}
    for r in rows:
        splits_of.setdefault(r["group"], set()).add(r["split"])
    assert [g for g, s in splits_of.items() if len(s) > 1] == []


def test_double_labelled_agreement(rows: list[dict[str, Any]]) -> None:
    """At least 600 texts read twice, blind, with Cohen's kappa of 0.8 or more."""
    pairs = [(r["readers"][0]["label"], r["readers"][1]["label"]) for r in rows if len(r["readers"]) == 2]
    assert len(pairs) >= 600
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[lab] * second[lab] for lab in LABELS) / n / n
    assert (observed - expected) / (1 - expected) >= 0.8


def _sources_table() -> dict[str, tuple[str, set[str]]]:
    """dataset -> (repository, commit prefixes) from data/SOURCES.md."""
    table = {}
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\w+) \| ([\w.-]+/[\w.-]+) @ ([0-9a-f]{12}(?:, [0-9a-f]{12})*) \|", line)
        if m:
            table[m.group(1)] = (m.group(2), set(m.group(3).split(", ")))
    return table


def test_every_row_has_provenance_and_licence_listed_in_sources(rows: list[dict[str, Any]]) -> None:
    table = _sources_table()
    assert table, "data/SOURCES.md lists no sources"
    for r in rows:
        p = r["provenance"]
        assert p["dataset"] in table, r["id"]
        repo, commits = table[p["dataset"]]
        assert p["repo"] == repo and p["commit"][:12] in commits, r["id"]
        assert re.fullmatch(r"[0-9a-f]{40}", p["commit"]) and p["path"] and p["locator"] not in (None, ""), r["id"]
        assert r["licence"].strip(), r["id"]
    assert set(table) == {r["provenance"]["dataset"] for r in rows}


@pytest.mark.skipif(not RESERVED.exists(), reason="the reserved list lives in ../shared")
def test_no_text_from_a_reserved_source(rows: list[dict[str, Any]]) -> None:
    reserved = {m.lower() for m in re.findall(r"^- ([\w.-]+/[\w.-]+)", RESERVED.read_text(), re.M)}
    assert reserved
    used = {r["provenance"]["repo"].lower() for r in rows}
    assert used.isdisjoint(reserved)
    assert not any("dealerrater" in repo for repo in used)


def _mirror(repo: str) -> Path | None:
    path = MIRRORS / repo.replace("/", "+") / "repo"
    if (path / ".git").is_dir():  # some snapshots are clones with a work tree
        return path / ".git"
    return path if path.is_dir() else None


def _show(git_dir: Path, commit: str, path: str) -> str:
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=True
    )
    try:
        return out.stdout.decode("utf-8")
    except UnicodeDecodeError:  # a few source files are Windows-1252 (the pool read them so)
        return out.stdout.decode("cp1252")


def _row_number(locator: Any) -> int | None:
    if isinstance(locator, int):
        return locator
    if isinstance(locator, str) and (m := re.match(r"^(?:row|csv data row) (\d+)", locator)):
        return int(m.group(1))
    return None


def _g2_review(row: dict[str, str]) -> str:
    """A G2 API export row's text: the review's title, then each non-empty answer in order, trimmed
    (data/real/sources/g2_marketing_solutions.md)."""
    review = ast.literal_eval(row["attributes"])
    answers = [a["value"].strip() for a in review["comment_answers"].values() if str(a.get("value") or "").strip()]
    return "\n".join([review["title"].strip(), *answers])


def test_locators_resolve_to_the_source_text(rows: list[dict[str, Any]]) -> None:
    """Davis Wiki comments and blog passages by their lines, CSV texts by their data row, G2 reviews from their
    API export's row (other formats, such as R data files, were checked when the pool was built, see
    data/real/sources/)."""
    checked = 0
    files: dict[tuple[str, str, str], Any] = {}
    for r in rows:
        p = r["provenance"]
        git_dir = _mirror(p["repo"])
        if git_dir is None:
            continue
        key = (p["repo"], p["commit"], p["path"])
        if isinstance(p["locator"], dict):
            if key not in files:
                files[key] = _show(git_dir, p["commit"], p["path"]).split("\n")
            if "paragraphs" in p["locator"]:  # a blog passage: its paragraphs' lines, each stripped
                paragraphs = [  # (the pool read CRLF files line by line, less the CR)
                    "\n".join(line.removesuffix("\r") for line in files[key][a - 1 : b]).strip()
                    for a, b in p["locator"]["paragraphs"]
                ]
                assert "\n\n".join(paragraphs) == r["text"], r["id"]
            else:  # a Davis Wiki comment: its lines, less the time stamp
                lines = files[key][p["locator"]["line_start"] - 1 : p["locator"]["line_end"]]
                assert STAMP.sub("", "\n".join(lines), count=1).strip() == r["text"], r["id"]
            checked += 1
        elif p["dataset"] in API_EXPORT:
            if key not in files:
                files[key] = list(csv.DictReader(io.StringIO(_show(git_dir, p["commit"], p["path"]))))
            assert _g2_review(files[key][p["locator"]]) == r["text"], r["id"]
            checked += 1
        elif (
            p["path"].endswith(".csv")
            and p["dataset"] not in OWN_CSV_LAYOUT
            and (n := _row_number(p["locator"])) is not None
        ):
            if key not in files:
                table = list(csv.reader(io.StringIO(_show(git_dir, p["commit"], p["path"]))))
                files[key] = table if p["dataset"] in NO_HEADER else table[1:]
            cells = " ".join(files[key][n])
            first_line = r["text"].split("\n")[-1].strip()[:60]
            assert " ".join(first_line.split()) in " ".join(cells.split()), r["id"]
            checked += 1
    if checked == 0:
        pytest.skip("no source snapshot on this machine")


def test_marked_reasons_come_from_real_train_only_and_quote_their_text(rows: list[dict[str, Any]]) -> None:
    """data/real/rationales.jsonl: a reader's justifying phrases for every pitch-first and
    needs-first training text (never a dev or test text: training reads them)."""
    from vocml.rationales import read_rationales

    marks = read_rationales(REAL / "rationales.jsonl")
    by_id = {r["id"]: r for r in rows}
    signal_train = {r["id"] for r in rows if r["split"] == "train" and r["label"] != "no_signal"}
    assert signal_train <= set(marks)
    for rid in set(marks) - signal_train:  # marked as a signal text, then reviewed to no_signal
        assert by_id[rid]["split"] == "train" and by_id[rid]["review"]["label"] == "no_signal", rid
    for rid, spans in marks.items():
        assert all(span in by_id[rid]["text"] for span in spans), rid
