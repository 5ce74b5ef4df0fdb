"""XLSX (Office Open XML spreadsheets), streamed: typed cells in a ZIP written as rows arrive.

Each batch of rows becomes worksheet XML that :class:`~exports.formats.zippipe.ZipPipe`
compresses into the ZIP at once, so the first bytes leave with the header and memory holds one
batch, whatever the row count. Cells (the README's "XLSX" section):

- integers are numbers (format ``0``, never ``1.23457E+11``) when they have at most 15
  digits, else text cells holding their digits: a double holds every integer up to 2^53, but
  Excel and LibreOffice show and save only 15 significant digits (LibreOffice shows 2^53 as
  9007199254740990), so a 16th digit would be lost;
- decimals are numbers shown with the column's decimal places when they have at most 15
  significant digits, else text in canonical form;
- floats are numbers; NaN and the infinities are text (``nan``, ``inf``, ``-inf``);
- booleans are boolean cells; NULL is an empty cell;
- dates, datetimes and times are date cells (serial numbers in the 1900 date system, shown as
  ``yyyy-mm-dd``, ``yyyy-mm-dd hh:mm:ss``, ``hh:mm:ss``, with ``.000`` for values with a
  fraction of a second); aware datetimes in UTC, their header saying ``(UTC)``. Dates before
  1900-03-01, where Excel's serials are wrong or missing, are text in canonical form;
- everything else is an inline string (text stays text: leading zeros kept, never a formula):
  text, and the canonical text of durations, UUIDs, JSON and binary. Characters XML cannot
  hold (control characters but tab and line breaks) are written as Excel's ``_xHHHH_``
  escapes, which Excel and LibreOffice read back as the character, and a CR as ``&#13;``
  (XML would read a raw one as LF); text that looks like such
  an escape gets its ``_`` escaped (``_x005F_``) so it reads back as it was. A cell longer
  than Excel's 32,767 characters is cut, ending with :data:`CUT_MARKER`.

Sheets hold 1,048,576 rows (the header repeated on each): further rows continue on
``Sheet2``, ``Sheet3``... More than 16,384 columns are refused before the first byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

from ..errors import ExportError
from ..kinds import Kind, as_text, is_plain_text, kind_of, target_of, text_formatter, uses_tz
from . import ooxml
from . import xlsx_cells as cells
from .base import Writer

ZIP32_LIMIT = 0xFFFFFFFF  # as exports.formats.zippipe's

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
CUT_MARKER = cells.CUT_MARKER
TOO_MANY_COLUMNS = "An XLSX sheet holds at most {limit:,} columns; this export has {count:,}."
UTC_LABEL = "{label} (UTC)"
SHEET_NAME = "Sheet{number}"
HEADER_CELL = '<c t="inlineStr" s="{style}"><is><t xml:space="preserve">{text}</t></is></c>'

# Column widths (in characters) by kind, for values of typical length; the header may widen.
WIDTHS = {
    Kind.DATE: 10,
    Kind.DATETIME: 19,
    Kind.TIME: 8,
    Kind.UUID: 36,
    Kind.BOOLEAN: 5,
    Kind.INTEGER: 8,
    Kind.FLOAT: 10,
}
DEFAULT_WIDTH = 12
MAX_WIDTH = 60


class XLSXWriter(Writer):
    name = "xlsx"
    verbose_name = "XLSX"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"
    #: Rows per sheet; a class attribute so that tests can make sheets small.
    max_rows = MAX_ROWS
    #: Worksheet XML bytes per sheet (a Zip32 member holds less than 4 GiB); also for tests.
    max_sheet_bytes = ZIP32_LIMIT - 16 * 1024 * 1024

    def __init__(self, columns, **kwargs: Any) -> None:
        # A BOM means nothing inside a ZIP, and inline strings are never formulas: both
        # options are accepted (downloads pass them for every format) and have no effect.
        super().__init__(columns, **kwargs)
        if len(self.columns) > MAX_COLUMNS:
            raise ExportError(TOO_MANY_COLUMNS.format(limit=MAX_COLUMNS, count=len(self.columns)))
        kinds = [kind_of(c.field) for c in self.columns]
        scales = [
            self._scale(c) if k is Kind.DECIMAL else None
            for c, k in zip(self.columns, kinds, strict=True)
        ]
        self.styles = ooxml.Styles(tuple(sorted({s for s in scales if s is not None})))
        self._renderers = [
            self._renderer(c, k, scale)
            for c, k, scale in zip(self.columns, kinds, scales, strict=True)
        ]
        aware = uses_tz()
        self.labels = [
            UTC_LABEL.format(label=c.label) if k is Kind.DATETIME and aware else c.label
            for c, k in zip(self.columns, kinds, strict=True)
        ]
        self._widths = [
            min(MAX_WIDTH, max(len(label) * 1.1, WIDTHS.get(k, DEFAULT_WIDTH)) + 2)
            for label, k in zip(self.labels, kinds, strict=True)
        ]
        self._rows_per_sheet = self.max_rows - (1 if self.header_enabled else 0)
        self._reset()

    def _reset(self) -> None:
        # Imported here: stream-zip and ISA-L cost every process that never writes XLSX
        # (every import and CSV export) several MB.
        from .zippipe import ZipPipe

        self._pipe = ZipPipe()
        self._sheet_names: list[str] = []
        self._sheet_rows: list[int] = []  # rows written on each sheet, header included
        self._data_rows = 0  # data rows on the current sheet
        self._sheet_bytes = 0

    @property
    def content_type(self) -> str:
        return self.media_type

    @staticmethod
    def _scale(column) -> int:
        return int(getattr(target_of(column.field), "decimal_places", 0) or 0)

    def _renderer(self, column, kind: Kind, scale: int | None) -> cells.Render:
        if kind in cells.TYPED_COLUMNS:
            return cells.TYPED_COLUMNS[kind]
        if kind is Kind.DECIMAL:
            return cells.decimal_column(self.styles.decimal(scale or 0))
        if kind is Kind.TEXT:
            return cells.text_column(None if is_plain_text(column.field) else as_text)
        return cells.text_column(text_formatter(kind, vendor=self.vendor))

    # The stream: begin() opens the ZIP and the first sheet, write_batch() adds rows (starting
    # a new sheet when one is full), end() closes the sheet and writes the parts listing them.

    def begin(self) -> bytes:
        self._reset()  # an Export may be iterated again
        self._pipe.add([("_rels/.rels", ooxml.ROOT_RELS), ("xl/styles.xml", self.styles.xml())])
        return self._start_sheet()

    def header(self) -> bytes:
        labels = "".join(
            HEADER_CELL.format(style=ooxml.Styles.HEADER, text=cells.escape(cells.cut(label)))
            for label in self.labels
        )
        return f'<row r="1">{labels}</row>'.encode()

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        out = []
        start = 0
        while start < len(rows):
            room = self._rows_per_sheet - self._data_rows
            if room == 0:
                out.append(self._start_sheet())
                continue
            part = rows[start : start + room]
            out.append(self._add_rows(part))
            start += len(part)
        return b"".join(out)

    def end(self) -> bytes:
        return self._pipe.finish(
            ooxml.closing_parts(
                self._sheet_names,
                self._sheet_rows,
                columns=len(self.columns),
                autofilter=self.header_enabled,
            ),
            before=self._close_sheet(),
        )

    def _start_sheet(self) -> bytes:
        before = self._close_sheet() if self._sheet_names else b""
        self._sheet_names.append(SHEET_NAME.format(number=len(self._sheet_names) + 1))
        self._sheet_rows.append(1 if self.header_enabled else 0)
        self._data_rows = 0
        head = ooxml.sheet_head(self._widths, frozen_header=self.header_enabled)
        if self.header_enabled:
            head += self.header()
        self._sheet_bytes = len(head)
        part = ooxml.sheet_part(len(self._sheet_names))
        return self._pipe.start(part, head, before=before)

    def _close_sheet(self) -> bytes:
        return ooxml.sheet_tail(
            columns=len(self.columns),
            rows=self._sheet_rows[-1],
            autofilter=self.header_enabled,
        )

    def _add_rows(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        """Rows that fit the current sheet by count; a new sheet first if not by size."""
        data = self._rows_xml(rows, first=self._sheet_rows[-1] + 1)
        if self._sheet_bytes + len(data) > self.max_sheet_bytes:
            if len(rows) > 1:
                half = len(rows) // 2
                return self._add_rows(rows[:half]) + self._add_rows(rows[half:])
            if self._data_rows:
                return self._start_sheet() + self._add_rows(rows)
        self._sheet_bytes += len(data)
        self._sheet_rows[-1] += len(rows)
        self._data_rows += len(rows)
        return self._pipe.write(data)

    def _rows_xml(self, rows: Sequence[tuple[Any, ...]], *, first: int) -> bytes:
        columns = [
            render(values)
            for render, values in zip(self._renderers, zip(*rows, strict=True), strict=True)
        ]
        starts = [f'<row r="{number}">' for number in range(first, first + len(rows))]
        pieces = chain.from_iterable(zip(starts, *columns, repeat("</row>"), strict=False))
        return "".join(pieces).encode()
