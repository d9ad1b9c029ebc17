"""The data contract: every bad row is rejected with its line, field and fix; nothing is dropped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vocml.data import iter_rows, read_records
from vocml.errors import DataError, EmptyTextError


def _jsonl(tmp_path: Path, rows: list[object], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"label": "no_signal"}, "text", "missing"),
        ({"text": "   \n ", "label": "no_signal"}, "text", "whitespace"),
        ({"text": "ok", "label": "maybe"}, "label", "unknown label"),
        ({"text": "ok", "source": "tweet"}, "source", "unknown source"),
        ({"text": "ok", "created_at": "31/03/2026"}, "created_at", "ISO date"),
        ({"text": "x" * 21, "label": "no_signal"}, "text", "over the 20 limit"),
        ({"text": 5}, "text", "must be a string"),
    ],
)
def test_read_records_rejects_bad_row_with_line_and_field(tmp_path: Path, row: dict, field: str, words: str) -> None:
    path = _jsonl(tmp_path, [{"text": "fine", "label": "no_signal"}, row])
    with pytest.raises(DataError) as info:
        read_records(path, max_chars=20)
    assert info.value.line == 2
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith("line 2")


def test_empty_text_is_its_own_error_class(tmp_path: Path) -> None:
    with pytest.raises(EmptyTextError):
        read_records(_jsonl(tmp_path, [{"text": ""}]))


def test_training_rows_need_a_label(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="line 1, field 'label'"):
        read_records(_jsonl(tmp_path, [{"text": "hello"}]), require_label=True)


def test_iter_rows_reports_every_bad_row_and_keeps_good_ones(tmp_path: Path) -> None:
    rows = ['{"text": "a"}', "not json", '{"text": ""}', "[1, 2]", '{"text": "b", "created_at": "2026-03-01"}']
    items = list(iter_rows(_jsonl(tmp_path, rows)))
    assert [type(i).__name__ for i in items] == ["Record", "DataError", "EmptyTextError", "DataError", "Record"]
    assert [i.line for i in items] == [1, 2, 3, 4, 5]
    assert items[4].created_at is not None and items[4].created_at.year == 2026


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n', encoding="utf-8")
    assert [r.line for r in read_records(path)] == [1, 3]


def test_csv_with_bom_and_quoted_newlines_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        '\ufefftext,team,created_at\n"two\nlines",North,2026-01-05\nsingle,South,2026-01-06T10:00:00\n,North,\n'.encode()
    )
    items = list(iter_rows(path, require_team=True))
    assert items[0].text == "two\nlines" and items[0].line == 2 and items[0].team == "North"
    assert items[1].text == "single" and items[1].line == 4
    assert isinstance(items[2], DataError) and items[2].line == 5 and items[2].field == "text"


def test_csv_without_text_column_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("body,team\nhello,North\n", encoding="utf-8")
    with pytest.raises(DataError, match="no 'text' column"):
        list(iter_rows(path))


def test_csv_without_team_column_when_required(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match="no 'team' column"):
        list(iter_rows(path, require_team=True))


def test_wrong_encoding_rejects_only_that_row(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"text,team\ncaf\xe9 was great,North\nfine,North\n")
    items = list(iter_rows(path))
    assert isinstance(items[0], DataError) and items[0].line == 2 and "UTF-8" in str(items[0])
    assert items[1].text == "fine"


def test_csv_row_with_wrong_column_count(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("text,team\nhello,North,extra\n", encoding="utf-8")
    (item,) = list(iter_rows(path))
    assert isinstance(item, DataError) and "quote values" in str(item)


def test_format_is_sniffed_for_uploads_without_a_name() -> None:
    stream = io.BytesIO(b'{"text": "from a stream", "team": "T"}\n')
    (rec,) = list(iter_rows(stream))
    assert rec.text == "from a stream" and rec.team == "T"


def test_text_is_never_truncated(tmp_path: Path) -> None:
    text = "word " * 100
    (rec,) = read_records(_jsonl(tmp_path, [{"text": text}]))
    assert rec.text == text


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_records(tmp_path / "nope.jsonl")


def test_unclosed_quote_rejects_its_row_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        'id,text,team\nm1,one,EMEA\nm2,"Unclosed quote here,EMEA\nm3,three,EMEA\nm4,four,EMEA\n', encoding="utf-8"
    )
    items = list(iter_rows(path))
    assert [type(i).__name__ for i in items] == ["Record", "DataError", "Record", "Record"]
    assert items[1].line == 3 and "unclosed quote" in str(items[1])
    assert [i.line for i in items] == [2, 3, 4, 5]


def test_nul_characters_are_rejected_with_the_fix(tmp_path: Path) -> None:
    items = list(iter_rows(_jsonl(tmp_path, [{"text": "a\u0000b"}, {"text": "ok", "team": "T\u0000"}])))
    assert items[0].field == "text" and "NUL" in str(items[0])
    assert items[1].field == "team" and "NUL" in str(items[1])


def test_utf16_file_gets_the_re_save_fix(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("text,team\nhello,North\n".encode("utf-16"))
    with pytest.raises(DataError, match="re-save it as CSV UTF-8"):
        list(iter_rows(path))


def test_old_mac_line_endings_get_a_clear_fix(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"text,team\rhello,North\rworld,North\r")
    with pytest.raises(DataError, match="line endings"):
        list(iter_rows(path))
