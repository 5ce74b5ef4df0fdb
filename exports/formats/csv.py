"""CSV and TSV, written so that PostgreSQL's ``COPY ... (FORMAT csv)`` produces the same bytes.

The dialect (documented in the README):

- fields separated by ``,`` (CSV) or a tab (TSV), lines ended by ``\\n``;
- a field is quoted with ``"`` (inner ``"`` doubled) when it holds the delimiter, ``"``,
  ``\\r`` or ``\\n``, and an empty string is written ``""``;
- NULL is an empty, unquoted field, so NULL and the empty string stay distinct.

Python's :mod:`csv` module cannot write this on Python 3.11 (it writes ``""`` and NULL the
same way, and leaves a lone ``\\r`` unquoted when the line terminator is ``\\n``), hence the
hand-written quoting below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ExportError
from ..textforms import (
    Kind,
    as_text,
    is_plain_text,
    kind_of,
    neutralise_formula,
    neutralise_json_formula,
    text_formatter,
)
from .base import Writer

QUOTED_KINDS = frozenset({Kind.TEXT, Kind.JSON})
# No canonical text form of a non-text kind contains one of these.
SAFE_DELIMITERS = ",\t;| "


def _quoter(delimiter: str, single_column: bool) -> Callable[[str], str]:
    needs_quotes = re.compile("[" + re.escape(delimiter) + '"\r\n]').search

    def quote(text: str) -> str:
        if not text or needs_quotes(text) or (single_column and text == "\\."):
            return '"' + text.replace('"', '""') + '"'
        return text

    return quote


class CSVWriter(Writer):
    name = "csv"
    media_type = "text/csv"
    extension = "csv"
    copy_delimiter = ","
    default_delimiter = ","

    def __init__(self, columns, *, delimiter: str | None = None, **kwargs: Any) -> None:
        super().__init__(columns, **kwargs)
        delimiter = self.default_delimiter if delimiter is None else delimiter
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ExportError(
                f"The delimiter must be one character other than a quote or a line break, "
                f"not {delimiter!r}."
            )
        self.delimiter = delimiter
        self.copy_delimiter = delimiter
        self._quote = _quoter(delimiter, single_column=len(self.columns) == 1)
        self._formatters = [self._column_formatter(c) for c in self.columns]

    def _column_formatter(self, column) -> Callable[[Sequence[Any]], list[str]]:
        kind = kind_of(column.field)
        to_text = text_formatter(kind, vendor=self.vendor)
        if kind is Kind.TEXT and not is_plain_text(column.field):
            to_text = as_text
        if kind in QUOTED_KINDS:
            quote = self._quote
            if self.escape_formulas:
                guard = neutralise_formula if kind is Kind.TEXT else neutralise_json_formula
                return lambda values: [
                    "" if v is None else quote(guard(to_text(v))) for v in values
                ]
            if to_text is str:
                return lambda values: ["" if v is None else quote(v) for v in values]
            return lambda values: ["" if v is None else quote(to_text(v)) for v in values]
        if kind is Kind.BINARY and self.delimiter in SAFE_DELIMITERS:
            # The base64 of b"" is "": written "", as the empty string is, to stay apart from NULL.
            return lambda values: ["" if v is None else (to_text(v) or '""') for v in values]
        if self.delimiter not in SAFE_DELIMITERS:
            # Canonical text of other kinds may hold this delimiter: quote where needed.
            quote = self._quote
            return lambda values: ["" if v is None else quote(to_text(v)) for v in values]
        return lambda values: ["" if v is None else to_text(v) for v in values]

    def header(self) -> bytes:
        return self._line([self._quote(c.label) for c in self.columns])

    def _line(self, fields: Sequence[str]) -> bytes:
        return (self.delimiter.join(fields) + "\n").encode("utf-8")

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        if not rows:
            return b""
        columns = [
            fmt(values)
            for fmt, values in zip(self._formatters, zip(*rows, strict=False), strict=True)
        ]
        join = self.delimiter.join
        return ("\n".join(map(join, zip(*columns, strict=False))) + "\n").encode("utf-8")


class TSVWriter(CSVWriter):
    """Tab-separated values: the CSV dialect above with a tab as the delimiter."""

    name = "tsv"
    media_type = "text/tab-separated-values"
    extension = "tsv"
    copy_delimiter = "\t"
    default_delimiter = "\t"
