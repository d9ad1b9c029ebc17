"""The ``vocml`` command line: classify streams in order, label writes silver rows, train/evaluate write files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vocml.cli import main


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_classify_writes_one_object_per_row_in_order(
    tiny_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [
            '{"id": "a", "text": "Nobody asked what we needed."}',
            '{"text": "Invoice wrong"}',
            '{"text": ""}',
            '{"id": "d", "text": "asked about goals"}',
        ],
    )
    out = tmp_path / "out.jsonl"
    assert main(["classify", str(src), "-o", str(out), "--model", str(tiny_bundle), "--batch-size", "2"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "2", "3", "d"]
    assert rows[2]["error"]["field"] == "text" and rows[2]["line"] == 3
    assert {"label", "confidence", "scores", "uncertain", "cues", "evidence"} <= set(rows[0])
    assert "4 rows: 3 classified, 1 rejected" in capsys.readouterr().err


def test_classify_strict_fails_on_rejected_rows(tiny_bundle: Path, tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", ['{"text": ""}'])
    assert (
        main(["classify", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_bundle), "--strict", "-q"])
        == 1
    )


def _mixed_csv(path: Path) -> Path:
    """50 rows, every ninth one rejected (empty text), so batches mix results and errors."""
    rows = [f'r{i},"{"" if i % 9 == 4 else f"asked about goals, offered {i}% off"}"\n' for i in range(50)]
    path.write_text("id,text\n" + "".join(rows), encoding="utf-8")
    return path


def test_classify_with_two_workers_matches_one(tiny_bundle: Path, tmp_path: Path) -> None:
    src = _mixed_csv(tmp_path / "in.csv")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    main(["classify", str(src), "-o", str(one), "--model", str(tiny_bundle), "--batch-size", "7"])
    main(["classify", str(src), "-o", str(two), "--model", str(tiny_bundle), "--batch-size", "3", "--workers", "2"])
    assert one.read_text() == two.read_text()
    rows = [json.loads(line) for line in one.read_text().splitlines()]
    # rejected rows keep their own id (issue 11, item 11), with the line beside it
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(50)]
    assert [r["line"] for r in rows if "error" in r] == [i + 2 for i in range(50) if i % 9 == 4]


def test_classify_reads_each_row_with_its_source(call_note_bundle: Path, tmp_path: Path) -> None:
    """A call note in the file gets the model's call-note offsets, in this process and in the helpers."""
    from vocml.bundle import load_model
    from vocml.data import Record

    text = "Asked about their goals first, then walked them through the two plans."
    rows = [{"id": f"r{i}", "text": text, **({"source": "call_note"} if i % 2 else {})} for i in range(12)]
    src = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in rows])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    main(["classify", str(src), "-o", str(one), "--model", str(call_note_bundle), "--batch-size", "5", "-q"])
    main(
        ["classify", str(src), "-o", str(two), "--model", str(call_note_bundle), "--batch-size", "2", "--workers", "2"]
    )
    assert one.read_text() == two.read_text()
    out = [json.loads(line) for line in one.read_text().splitlines()]
    model = load_model(call_note_bundle)
    note, comment = model.classify([Record(text=text, source="call_note"), Record(text=text)])
    assert note.scores != comment.scores
    assert [r["scores"] for r in out] == [note.scores if i % 2 else comment.scores for i in range(12)]


def test_classify_helpers_load_the_bundle_where_fork_is_unavailable(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vocml.stream

    src = _mixed_csv(tmp_path / "in.csv")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    main(["classify", str(src), "-o", str(one), "--model", str(tiny_bundle), "--batch-size", "7"])
    monkeypatch.setattr(vocml.stream.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    main(["classify", str(src), "-o", str(two), "--model", str(tiny_bundle), "--batch-size", "2", "--workers", "2"])
    assert one.read_text() == two.read_text()


def test_label_writes_silver_rows_and_prints_the_cue_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(
        tmp_path / "pool.jsonl",
        ['{"text": "Nobody asked what we needed."}', '{"text": "Opened with what made you look at dispatch now."}'],
    )
    gold = Path(__file__).resolve().parent.parent / "data" / "tiny.jsonl"
    out = tmp_path / "silver.jsonl"
    assert main(["label", str(src), "-o", str(out), "--gold", str(gold), "--report", str(tmp_path / "r.json")]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in rows] == ["pitch_first", "needs_first"]
    printed = capsys.readouterr().out
    assert "coverage" in printed and "negated_discovery" in printed
    assert json.loads((tmp_path / "r.json").read_text())[0]["cue"] == "feature_dump"


def test_train_with_silver_and_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = Path(__file__).resolve().parent.parent / "data" / "tiny.jsonl"
    silver = _write(
        tmp_path / "silver.jsonl",
        [
            '{"text": "pushed the bundle", "label": "pitch_first", "label_confidence": 0.9}',
            '{"text": "meh", "label": "no_signal", "label_confidence": 0.2}',
        ],
    )
    out = tmp_path / "model"
    assert (
        main(
            [
                "train",
                str(gold),
                "--silver",
                str(silver),
                "--out",
                str(out),
                "--folds",
                "3",
                "--set",
                "clf__cv=2",
                "--version",
                "9.9.9",
            ]
        )
        == 0
    )
    card = json.loads((out / "card.json").read_text())
    assert card["version"] == "9.9.9" and card["params"]["clf__cv"] == 2
    silver_info = [d for d in card["data"] if d["kind"] == "silver"][0]
    assert silver_info["rows"] == 1 and silver_info["left_out_below_confidence"] == 1
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--data", str(gold), "--model", str(out), "--out", str(report), "--record"]) == 0
    result = json.loads(report.read_text())
    assert {"macro_f1", "per_label", "per_source", "confusion", "ece"} <= set(result)
    assert "data/tiny.jsonl" in json.loads((out / "card.json").read_text())["evaluations"]
    assert "macro-F1" in capsys.readouterr().out


def test_errors_are_reported_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.jsonl", ['{"text": "x", "label": "perhaps"}'])
    assert main(["train", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "line 1, field 'label'" in err and "Traceback" not in err


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from vocml.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._subparsers._group_actions if a.choices]  # type: ignore[union-attr]
    for name, sub in actions[0].choices.items():
        assert sub.description or actions[0]._choices_actions, name
        for action in sub._actions:
            assert action.help, f"{name} {action.dest} has no help"
