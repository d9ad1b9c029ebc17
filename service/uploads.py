"""Receiving a batch upload: stream the multipart ``file`` field to the spool directory, hashing it and
enforcing the size limit while it arrives (nothing is held in memory, an oversized upload stops early)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from service.errors import PayloadTooLargeError, UnsupportedMediaError
from vocml.errors import DataError

FIELD = "file"


@dataclass(frozen=True)
class SpooledFile:
    """An upload written to disk."""

    path: Path
    filename: str | None
    sha256: str
    size: int


class _Receiver:
    """Multipart callbacks that write the ``file`` part to ``out`` and ignore other parts."""

    def __init__(self, out: IO[bytes], max_bytes: int) -> None:
        self.out = out
        self.max_bytes = max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.found = False
        self.filename: str | None = None
        self._in_file = False
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._in_file = False
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        if params.get(b"name") == FIELD.encode() and not self.found:
            self._in_file = True
            self.found = True
            raw_name = params.get(b"filename")
            self.filename = os.path.basename(raw_name.decode("utf-8", "replace"))[:300] if raw_name else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLargeError(
                f"the file is over the {self.max_bytes:,}-byte upload limit; split it into smaller files"
            )
        self.digest.update(chunk)
        self.out.write(chunk)

    def on_part_end(self) -> None:
        self._in_file = False


async def spool_upload(request: Request, spool_dir: Path, max_bytes: int) -> SpooledFile:
    """Stream the request's multipart ``file`` field into ``spool_dir``.

    Raises:
        UnsupportedMediaError: the request is not ``multipart/form-data``.
        PayloadTooLargeError: the declared or actual size is over ``max_bytes``.
        DataError: no ``file`` field, or an empty file.
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaError(
            "send the file as multipart/form-data in a field named 'file' (curl -F file=@data.csv)"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise PayloadTooLargeError(f"the upload is over the {max_bytes:,}-byte limit; split it into smaller files")
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"upload-{secrets.token_hex(8)}.part"
    try:
        with path.open("wb") as out:
            receiver = _Receiver(out, max_bytes)
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": receiver.on_part_begin,
                    "on_header_field": receiver.on_header_field,
                    "on_header_value": receiver.on_header_value,
                    "on_header_end": receiver.on_header_end,
                    "on_headers_finished": receiver.on_headers_finished,
                    "on_part_data": receiver.on_part_data,
                    "on_part_end": receiver.on_part_end,
                },
            )
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not receiver.found:
        path.unlink(missing_ok=True)
        raise DataError("no file in the upload; send it in a multipart field named 'file'", field="file")
    if receiver.size == 0:
        path.unlink(missing_ok=True)
        raise DataError("the uploaded file is empty; send a CSV or JSONL file with at least one row", field="file")
    return SpooledFile(path=path, filename=receiver.filename, sha256=receiver.digest.hexdigest(), size=receiver.size)
