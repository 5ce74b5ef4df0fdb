"""The reject file: one CSV line per problem (line, column, message, original row), streamed.

It is opened on the first rejected row (a clean import leaves no file behind), written as rows
fail and flushed after every batch, so nothing is held in memory and a crash loses nothing
already reported. With ``max_bytes`` the file never grows past that size: the row that would
cross it is not written, and :data:`~exports.imports.errors.REJECTS_TOO_LARGE` stops the import.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..formats.csv import _quoter
from ..textforms import neutralise_formula
from .errors import REJECTS_TOO_LARGE, ImportFileError, RowError

HEADER = ("line", "column", "message", "row")
DOWNLOAD_CHUNK = 64 * 1024
RAW_PREVIEW = 1000


def preview(raw: str) -> str:
    """The original text of a record as the reject file keeps it (long ones are cut)."""
    return raw if len(raw) <= RAW_PREVIEW else raw[:RAW_PREVIEW] + "…"


class RejectWriter:
    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        append: bool = False,
        max_bytes: int | None = None,
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.append = append
        self.max_bytes = max_bytes
        self.bytes = 0
        self.rows = 0
        self.problems = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None  # a csv writer, once the file is open

    def write(self, errors: Iterable[RowError], raw: str) -> None:
        """Record one rejected row and its problems."""
        if self.path is None:
            self.rows += 1
            self.problems += sum(1 for _ in errors)
            return
        if self._writer is None:
            self._open(self.path)
        text = preview(raw)
        if self.max_bytes is not None:
            errors = list(errors)
            self._count(errors, text, self.max_bytes)
        self.rows += 1
        for error in errors:
            self.problems += 1
            self._writer.writerow((error.line, error.column, error.message, text))

    def _count(self, errors: list[RowError], text: str, limit: int) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for error in errors:
            writer.writerow((error.line, error.column, error.message, text))
        size = len(buffer.getvalue().encode("utf-8"))
        if self.bytes + size > limit:
            raise ImportFileError(REJECTS_TOO_LARGE.format(limit=limit))
        self.bytes += size

    def _open(self, path: str) -> None:
        exists = self.append and os.path.exists(path) and os.path.getsize(path) > 0
        self._handle = open(  # noqa: SIM115  (closed by close())
            path, "a" if self.append else "w", encoding="utf-8", newline=""
        )
        self._writer = csv.writer(self._handle, lineterminator="\n")
        if not exists:
            self._writer.writerow(HEADER)
            self.bytes += len(",".join(HEADER)) + 1

    def size(self) -> int:
        """Bytes in the reject file so far (for checkpoints)."""
        if self._handle is not None:
            self._handle.flush()
            return self._handle.tell()
        if self.append and self.path and os.path.exists(self.path):
            return os.path.getsize(self.path)
        return 0

    def truncate(self, size: int) -> None:
        """Drop lines written after a checkpoint (their batch was never committed)."""
        if self.path and os.path.exists(self.path):
            os.truncate(self.path, size)

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def written(self) -> bool:
        return self.path is not None and (self._writer is not None or self.append)


def iter_for_people(
    path: str | os.PathLike[str],
    *,
    escape_formulas: bool = True,
    chunk_size: int = DOWNLOAD_CHUNK,
) -> Iterator[bytes]:
    """The reject file as a download for people: every cell formula-neutralised.

    The file on disk keeps the exact rows (``importdata --errors`` is read by machines); this
    re-writes it record by record as it is read, so memory stays bounded by one chunk plus one
    record (a record is at most ``RAW_PREVIEW`` characters of row plus its message). Cells are
    quoted like the exporter's CSV, which also quotes a lone carriage return.
    """
    quote = _quoter(",", single_column=False)
    guard = neutralise_formula if escape_formulas else str
    lines: list[str] = []
    size = 0
    with open(path, encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle):
            line = ",".join([quote(guard(cell)) for cell in record]) + "\n"
            lines.append(line)
            size += len(line)
            if size >= chunk_size:
                yield "".join(lines).encode("utf-8")
                lines, size = [], 0
    if lines:
        yield "".join(lines).encode("utf-8")
