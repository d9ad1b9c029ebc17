"""The one data contract for training files and uploads: JSONL or CSV records, validated row by row.

A record has ``text`` (required), ``id``, ``source`` (``call_note`` | ``customer_comment``), ``team``,
``rep``, ``created_at`` (ISO date or datetime), ``label`` (training only) and ``hard`` (evaluation only).
Files are UTF-8, with or without a byte-order mark. Every rejected row raises or yields a
:class:`~vocml.errors.DataError` that names the line, the field and the fix; nothing is silently
dropped or truncated.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from vocml.errors import DataError, EmptyTextError

LABELS: tuple[str, ...] = ("pitch_first", "needs_first", "no_signal")
SOURCES: tuple[str, ...] = ("call_note", "customer_comment")
FIELDS: tuple[str, ...] = ("id", "text", "source", "team", "rep", "created_at", "label", "hard")
DEFAULT_MAX_CHARS = 20_000
MAX_SHORT_FIELD = 200

csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Record:
    """One validated row. ``line`` is where it started in its file (1-based)."""

    text: str
    id: str | None = None
    source: str | None = None
    team: str | None = None
    rep: str | None = None
    created_at: datetime | None = None
    label: str | None = None
    hard: bool | None = None
    line: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The record in the data contract's JSON shape (``None`` fields left out)."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def parse_datetime(value: str) -> datetime:
    """Parse an ISO date or datetime; naive values are taken as UTC. Raises ValueError."""
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if len(value) == 10:
        d = date.fromisoformat(value)
        if not MIN_YEAR <= d.year <= MAX_YEAR:
            raise ValueError(f"year {d.year} is outside {MIN_YEAR}-{MAX_YEAR}")
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"year {parsed.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    parsed.astimezone(UTC)  # raises OverflowError at the ends of the calendar
    return parsed


# C0 control characters other than tab, line feed, vertical tab, form feed and carriage return, and DEL,
# as a character-class body in regex escapes (also what the API's JSON Schema patterns exclude)
CONTROL_CLASS = "\\x00-\\x08\\x0e-\\x1f\\x7f"
_CONTROL = re.compile(f"[{CONTROL_CLASS}]")
_SURROGATE = re.compile("[\\ud800-\\udfff]")
UNSAFE_TEXT = re.compile(f"[{CONTROL_CLASS}\\ud800-\\udfff]")  # either of the two, in one search
MIN_YEAR, MAX_YEAR = 1900, 2199  # created_at outside these years cannot be a real record's date
MAX_NUMBER = 10**15  # a numeric id or rep beyond this is a mangled cell, not an id


def text_problem(value: str) -> str | None:
    """What in ``value`` no store or text library takes (a lone surrogate, a NUL or another control
    character), as the message of a :class:`DataError`; ``None`` if there is nothing."""
    if UNSAFE_TEXT.search(value) is None:
        return None
    if (m := _SURROGATE.search(value)) is not None:
        return (
            f"contains a lone surrogate (U+{ord(m.group()):04X}) at character {m.start()}, which is not valid "
            "Unicode text; re-encode the source as UTF-8 or remove that character"
        )
    if (m := _CONTROL.search(value)) is not None:
        what = (
            "a NUL character (\\x00), which databases refuse"
            if m.group() == "\x00"
            else (f"a control character (U+{ord(m.group()):04X})")
        )
        return f"contains {what} at character {m.start()}; remove it"
    return None


def check_text(text: str, *, field: str = "text", line: int | None = None) -> None:
    """Raise :class:`DataError` naming ``field`` if ``text`` has something :func:`text_problem` finds."""
    problem = text_problem(text)
    if problem is not None:
        raise DataError(problem, line=line, field=field)


def team_problem(name: str) -> str | None:
    """Why ``name`` cannot be a team name (a comma or slash, which lists and links of teams use as
    separators, or what :func:`text_problem` finds), as a message; ``None`` if it can."""
    if "," in name or "/" in name:
        return "may not contain a comma or a slash (they separate teams in lists and links); rename the team"
    return text_problem(name)


def _short(value: Any, name: str, line: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DataError(f"must be a string, got {type(value).__name__}", line=line, field=name)
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        raise DataError(
            f"is a number of about {digits} digits; write ids and names as strings of at most 200 characters",
            line=line,
            field=name,
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"is {value}, not a usable value; write it as a string", line=line, field=name)
    text = str(value).strip()
    if not text:
        return None
    check_text(text, field=name, line=line)
    if len(text) > MAX_SHORT_FIELD:
        raise DataError(f"is {len(text)} characters; keep it under {MAX_SHORT_FIELD}", line=line, field=name)
    return text


def validate_row(
    row: dict[str, Any],
    *,
    line: int,
    max_chars: int = DEFAULT_MAX_CHARS,
    require_label: bool = False,
    require_team: bool = False,
) -> Record:
    """Validate one parsed row (a dict) against the contract and return a :class:`Record`.

    Raises:
        DataError: naming ``line``, the field and the fix (and the row's ``id`` as ``record_id``).
    """
    try:
        return _validate_row(
            row, line=line, max_chars=max_chars, require_label=require_label, require_team=require_team
        )
    except DataError as e:
        raw_id = row.get("id")
        if e.field != "id" and isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
            with contextlib.suppress(DataError):
                e.record_id = _short(raw_id, "id", line)
        raise


def _validate_row(row: dict[str, Any], *, line: int, max_chars: int, require_label: bool, require_team: bool) -> Record:
    text = row.get("text")
    if text is None:
        raise EmptyTextError("is missing; every record needs a non-empty 'text'", line=line, field="text")
    if not isinstance(text, str):
        raise DataError(f"must be a string, got {type(text).__name__}", line=line, field="text")
    if not text.strip():
        raise EmptyTextError("is empty or whitespace only; remove the row or fill in the text", line=line, field="text")
    check_text(text, line=line)
    if len(text) > max_chars:
        raise DataError(
            f"is {len(text):,} characters, over the {max_chars:,} limit; split the text or raise the limit",
            line=line,
            field="text",
        )
    source = _short(row.get("source"), "source", line)
    if source is not None and source not in SOURCES:
        raise DataError(
            f"unknown source {source!r}; use one of {', '.join(SOURCES)} or leave it empty",
            line=line,
            field="source",
        )
    label = _short(row.get("label"), "label", line)
    if label is not None and label not in LABELS:
        raise DataError(f"unknown label {label!r}; use one of {', '.join(LABELS)}", line=line, field="label")
    if require_label and label is None:
        raise DataError(f"is missing; training rows need one of {', '.join(LABELS)}", line=line, field="label")
    team = _short(row.get("team"), "team", line)
    if team is not None and (problem := team_problem(team)) is not None:
        raise DataError(problem, line=line, field="team")
    if require_team and team is None:
        raise DataError("is missing; every uploaded row needs the team it belongs to", line=line, field="team")
    created_raw = row.get("created_at")
    created_at = None
    if created_raw is not None and str(created_raw).strip():
        try:
            created_at = parse_datetime(str(created_raw))
        except (ValueError, OverflowError):
            raise DataError(
                f"{str(created_raw)[:40]!r} is not an ISO date or datetime between {MIN_YEAR} and {MAX_YEAR}; "
                "write it like 2026-03-31 or 2026-03-31T14:05:00Z",
                line=line,
                field="created_at",
            ) from None
    hard_raw = row.get("hard")
    hard: bool | None = None
    if isinstance(hard_raw, bool):
        hard = hard_raw
    elif isinstance(hard_raw, str) and hard_raw.strip():
        lowered = hard_raw.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise DataError(f"{hard_raw!r} is not true or false", line=line, field="hard")
        hard = lowered in ("true", "1")
    return Record(
        text=text,
        id=_short(row.get("id"), "id", line),
        source=source,
        team=team,
        rep=_short(row.get("rep"), "rep", line),
        created_at=created_at,
        label=label,
        hard=hard,
        line=line,
    )


_PACKED = [
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel .xlsx workbook)"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
]


def packed_format(head: bytes) -> str | None:
    """What a file starting with ``head`` is when it is an archive, a compressed or a binary file
    (said in words for the error), else ``None``."""
    for magic, what in _PACKED:
        if head.startswith(magic):
            return what
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "a binary file"
    return None


def detect_format(name: str | None, head: bytes) -> str:
    """Return ``"jsonl"`` or ``"csv"`` from a file name, else from its first bytes."""
    if name:
        suffix = Path(name).suffix.lower()
        if suffix in (".jsonl", ".ndjson", ".json"):
            return "jsonl"
        if suffix in (".csv", ".tsv"):
            return "csv"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if stripped.startswith(b"{") else "csv"


def _decoded_lines(stream: IO[bytes], bad: set[int]) -> Iterator[str]:
    """Decode a byte stream line by line as UTF-8; lines that fail are recorded in ``bad``."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.add(number)
            yield raw.decode("utf-8", errors="replace")


ENCODING_FIX = "is not valid UTF-8; re-save the file as UTF-8 (in Excel: 'CSV UTF-8')"


def _iter_jsonl(stream: IO[bytes], opts: dict[str, Any]) -> Iterator[Record | DataError]:
    bad: set[int] = set()
    for number, line in enumerate(_decoded_lines(stream, bad), start=1):
        if not line.strip():
            continue
        if number in bad:
            yield DataError(ENCODING_FIX, line=number, field="text")
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            yield DataError("is nested too deeply to read; write one flat JSON object per line", line=number)
            continue
        except ValueError as e:
            if not isinstance(e, json.JSONDecodeError):  # e.g. an integer of thousands of digits
                yield DataError(f"holds a value that cannot be read ({e}); write ids and names as strings", line=number)
                continue
            yield DataError(
                f"is not valid JSON ({e.msg} at column {e.colno}); write one JSON object per line",
                line=number,
            )
            continue
        if not isinstance(row, dict):
            yield DataError(f"is a JSON {type(row).__name__}, not an object; write one object per line", line=number)
            continue
        try:
            yield validate_row(row, line=number, **opts)
        except DataError as e:
            yield e


class _PushbackLines:
    """Numbered lines for ``csv.reader``, remembering those of the current record so that they can be
    read again when the record turns out to be a runaway quote."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = enumerate(lines, start=1)
        self.pending: list[tuple[int, str]] = []
        self.record: list[tuple[int, str]] = []

    def __iter__(self) -> _PushbackLines:
        return self

    def __next__(self) -> str:
        item = self.pending.pop() if self.pending else next(self.lines)
        self.record.append(item)
        return item[1]

    def take_record(self) -> list[tuple[int, str]]:
        """The physical lines (number, text) of the record just read; starts a new record."""
        record, self.record = self.record, []
        return record

    def push_back(self, items: list[tuple[int, str]]) -> None:
        """Read ``items`` again, in order, before anything else."""
        self.pending.extend(reversed(items))


def _iter_csv(stream: IO[bytes], opts: dict[str, Any]) -> Iterator[Record | DataError]:
    bad: set[int] = set()
    lines = _PushbackLines(_decoded_lines(stream, bad))
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        if "new-line character" in str(e):
            raise DataError(
                "the file ends its lines with a bare carriage return (old Mac style); "
                "re-save it with Windows or Unix line endings",
                line=1,
            ) from e
        raise DataError(f"the CSV header could not be read ({e}); save the file as CSV (UTF-8)", line=1) from e
    lines.take_record()
    columns = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "text" not in columns:
        hint = (
            "the file does not look like UTF-8 text; re-save it as CSV UTF-8"
            if any("\x00" in c or "\ufffd" in c for c in columns)
            else "add a header row with at least 'text'"
        )
        raise DataError(
            f"the CSV header has no 'text' column (found: {', '.join(columns)[:200] or 'nothing'}); {hint}",
            line=1,
            field="text",
        )
    if opts.get("require_team") and "team" not in columns:
        raise DataError(
            f"the CSV header has no 'team' column (found: {', '.join(columns)}); add one, every row needs a team",
            line=1,
            field="team",
        )
    if opts.get("require_label") and "label" not in columns:
        raise DataError("the CSV header has no 'label' column; training files need one", line=1, field="label")
    while True:
        try:
            values = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as e:
            values, error = [], str(e)
        record = lines.take_record()
        if not record:
            return
        start = record[0][0]
        runaway = len(record) > 1 and (error is not None or len(values) != len(columns))
        if runaway:
            # An unclosed quote swallowed the lines after it: report this row, read the rest again.
            lines.push_back(record[1:])
            reader = csv.reader(lines)
            yield DataError(
                'has an unclosed quote (") that runs on past the end of the row; close the quote or remove it',
                line=start,
            )
            continue
        if error is not None:
            yield DataError(f"is not valid CSV ({error}); check the quotes on this row", line=start)
            continue
        if not values or all(not v.strip() for v in values) and len(values) <= 1:
            continue
        if any(number in bad for number, _ in record):
            yield DataError(ENCODING_FIX, line=start, field="text")
            continue
        if len(values) != len(columns):
            yield DataError(
                f"has {len(values)} values but the header has {len(columns)} columns; quote values that contain commas",
                line=start,
            )
            continue
        row = dict(zip(columns, values, strict=True))
        try:
            yield validate_row(row, line=start, **opts)
        except DataError as e:
            yield e


def iter_rows(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str | None = None,
    name: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    require_label: bool = False,
    require_team: bool = False,
) -> Iterator[Record | DataError]:
    """Stream a JSONL or CSV file, yielding a :class:`Record` or a :class:`DataError` per row.

    Nothing is held in memory beyond the current row. A file-level problem (a CSV header without
    ``text``) raises :class:`DataError` instead, because no row could be read.

    Args:
        source: a path, or a binary file object (an upload).
        fmt: ``"jsonl"`` or ``"csv"``; detected from the name or the first bytes when ``None``.
        name: the original file name, used to detect the format of a file object.
        max_chars: texts longer than this are rejected, never truncated.
        require_label: reject rows without a label (training files).
        require_team: reject rows without a team (uploads).
    """
    opts: dict[str, Any] = {"max_chars": max_chars, "require_label": require_label, "require_team": require_team}
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise DataError(f"file not found: {path}")
        with path.open("rb") as fh:
            yield from iter_rows(fh, fmt=fmt, name=path.name, **opts)
        return
    stream: IO[bytes] = source if hasattr(source, "peek") else io.BufferedReader(source)  # type: ignore[arg-type,type-var]
    packed = packed_format(stream.peek(512)[:512])  # type: ignore[attr-defined]
    if packed is not None:
        raise DataError(
            f"the file is {packed}, not CSV or JSONL text; unpack it and send the CSV or JSONL inside",
            line=1,
            field="file",
        )
    if fmt is None:
        fmt = detect_format(name, stream.peek(64)[:64])  # type: ignore[attr-defined]
    if fmt not in ("jsonl", "csv"):
        raise DataError(f"unknown format {fmt!r}; use jsonl or csv")
    yield from (_iter_jsonl(stream, opts) if fmt == "jsonl" else _iter_csv(stream, opts))


def json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a JSONL file, parsed, with its 1-based number. A line that is not JSON
    raises :class:`DataError` naming it: training-side files (silver labels, marks) stop at the first bad
    row, where uploads (:func:`iter_rows`) report every bad row and go on."""
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"is not valid JSON ({e.msg})", line=number) from e
            yield number, row


def read_records(
    source: str | os.PathLike[str] | IO[bytes],
    **kwargs: Any,
) -> list[Record]:
    """Read and validate a whole file; raise the first row's :class:`DataError`.

    Takes the keyword arguments of :func:`iter_rows`.
    """
    out: list[Record] = []
    for item in iter_rows(source, **kwargs):
        if isinstance(item, DataError):
            raise item
        out.append(item)
    return out


def write_jsonl(records: Iterable[Record | dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write records as JSONL (UTF-8); return how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            obj = rec.to_dict() if isinstance(rec, Record) else rec
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n
