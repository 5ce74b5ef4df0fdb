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

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from .. import conf
from ..columns import Column
from ..errors import ExportError
from ..expressions import Joined, StoredValues
from ..textforms import (
    Kind,
    as_text,
    is_plain_text,
    kind_of,
    neutralise_formula,
    neutralise_json_formula,
    text_formatter,
)
from .base import Slot, Writer, raw_expression, value_converters
from .cells import Cell, CellOptions, csv_cell

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
    verbose_name = "CSV"
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
        self._slots: list[Slot] = [Slot(1, fmt) for fmt in self._formatters]

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

    def select(self, connection) -> list[Any]:
        """Have the database print what it can (see :mod:`exports.formats.cells`): each run of
        such columns comes back as one value, its cells quoted and joined already."""
        if not conf.get("SERVER_TEXT"):
            return super().select(connection)
        options = CellOptions(
            delimiter=self.delimiter,
            quote_all=self.delimiter not in SAFE_DELIMITERS,
            single_column=len(self.columns) == 1,
            escape_formulas=self.escape_formulas,
        )
        exprs: list[Any] = []
        slots: list[Slot] = []
        run: list[tuple[Column, Cell, Callable]] = []

        def end_run() -> None:
            if not run:
                return
            columns, cells, formatters = zip(*run, strict=True)
            paths = [c.path for c in columns]
            exprs.append(Joined(paths, [cell.template for cell in cells], self.delimiter))
            checks = [cell.check for cell in cells]
            if any(checks):
                exprs.append(StoredValues(paths, checks))
                reformat = _stored_formatter(columns, formatters, connection, self.delimiter)
                slots.append(Slot(2, reformat))
            else:
                slots.append(Slot(1, list))
            run.clear()

        for column, formatter in zip(self.columns, self._formatters, strict=True):
            cell = csv_cell(column, connection, options)
            if cell is None:
                end_run()
                exprs.append(raw_expression(column))
                slots.append(Slot(1, formatter))
            else:
                run.append((column, cell, formatter))
        end_run()
        self._slots = slots
        return exprs

    def header(self) -> bytes:
        return self._line([self._quote(c.label) for c in self.columns])

    def _line(self, fields: Sequence[str]) -> bytes:
        return (self.delimiter.join(fields) + "\n").encode("utf-8")

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        if not rows:
            return b""
        slots = self._slots
        if len(slots) == 1 and slots[0].render is list:
            # Every cell printed by the database: each row is its line already.
            return ("\n".join([row[0] for row in rows]) + "\n").encode("utf-8")
        values = list(zip(*rows, strict=False))
        cells = []
        start = 0
        for slot in slots:
            cells.append(slot.render(*values[start : start + slot.width]))
            start += slot.width
        if len(cells) == 1:
            # One run (a SQLite run with its stored values): its texts are the lines.
            return ("\n".join(cells[0]) + "\n").encode("utf-8")
        join = self.delimiter.join
        return ("\n".join(map(join, zip(*cells, strict=False))) + "\n").encode("utf-8")


def _stored_formatter(columns, formatters, connection, delimiter: str):
    """Render a run printed in SQL where it was, and from its stored values (a JSON array,
    through Django's converters and the Python formatters) where a check failed."""
    converters = [value_converters(column, connection) for column in columns]

    def render(printed: Sequence[str | None], stored: Sequence[str | None]) -> list[str]:
        lines = list(printed)
        for i, values in enumerate(stored):
            if values is not None:
                cells = [
                    fmt([convert(value)])[0]
                    for fmt, convert, value in zip(
                        formatters, converters, json.loads(values), strict=True
                    )
                ]
                lines[i] = delimiter.join(cells)
        return lines  # type: ignore[return-value]

    return render


class TSVWriter(CSVWriter):
    """Tab-separated values: the CSV dialect above with a tab as the delimiter."""

    name = "tsv"
    verbose_name = "TSV"
    media_type = "text/tab-separated-values"
    extension = "tsv"
    copy_delimiter = "\t"
    default_delimiter = "\t"
