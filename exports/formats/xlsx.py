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
  escapes, which Excel and LibreOffice read back as the character; text that looks like such
  an escape gets its ``_`` escaped (``_x005F_``) so it reads back as it was. A cell longer
  than Excel's 32,767 characters is cut, ending with :data:`CUT_MARKER`.

Sheets hold 1,048,576 rows (the header repeated on each): further rows continue on
``Sheet2``, ``Sheet3``... More than 16,384 columns are refused before the first byte.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..errors import ExportError
from ..kinds import UTC, Kind, as_text, is_plain_text, kind_of, target_of, text_formatter, uses_tz
from . import ooxml
from .base import Writer
from .zippipe import ZIP32_LIMIT, ZipPipe

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_CELL_CHARS = 32_767
# What Excel and LibreOffice keep of a number: 15 significant digits.
MAX_EXACT_INTEGER = 10**15 - 1
MAX_DECIMAL_DIGITS = 15
TOO_MANY_COLUMNS = "An XLSX sheet holds at most {limit:,} columns; this export has {count:,}."
CUT_MARKER = "…[cut: {length:,} characters]"
UTC_LABEL = "{label} (UTC)"
SHEET_NAME = "Sheet{number}"

# Serial numbers count days from 1899-12-30, right from 1900-03-01 on (Excel takes 1900 for
# a leap year, so its serials before that date are one day off, and it has none before 1900).
EPOCH = dt.date(1899, 12, 30).toordinal()
FIRST_EXACT_DAY = dt.date(1900, 3, 1)
FIRST_EXACT_DATETIME = dt.datetime(1900, 3, 1)

# Characters that make a text cell take the slow path: XML's specials, characters XML 1.0
# cannot hold, text that Excel would read as an _xHHHH_ escape, edge blanks to preserve.
_SPECIAL = re.compile(
    r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s\Z"
)
_UNWRITABLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)
_EDGE_BLANK = re.compile(r"^\s|\s\Z")

CELL = '<c t="inlineStr"><is><t>{}</t></is></c>'
PRESERVED = '<c t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>'
HEADER_CELL = '<c t="inlineStr" s="{style}"><is><t xml:space="preserve">{text}</t></is></c>'


def _escape_code(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def cut(text: str) -> str:
    """``text`` as it fits in a cell: at most 32,767 UTF-16 units (Excel's count)."""
    if len(text) <= MAX_CELL_CHARS // 2:
        return text
    units = text.encode("utf-16-le")
    if len(units) <= 2 * MAX_CELL_CHARS:
        return text
    marker = CUT_MARKER.format(length=len(text))
    kept = units[: 2 * (MAX_CELL_CHARS - len(marker))].decode("utf-16-le", "ignore")
    return kept + marker


def escape(text: str) -> str:
    """``text`` as XML character data, with ``_xHHHH_`` for what XML cannot hold."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A raw CR would be read back as LF (XML's line-end handling); a reference stays a CR.
    text = text.replace("\r", "&#13;")
    return _UNWRITABLE.sub(_escape_code, text)


def text_xml(text: str) -> str:
    """The XML of a text cell holding ``text`` (cut to fit, escaped)."""
    text = cut(text)
    if not _SPECIAL.search(text):
        return CELL.format(text)
    return (PRESERVED if _EDGE_BLANK.search(text) else CELL).format(escape(text))


def _integer(value: int) -> str:
    if -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
        return f'<c s="{ooxml.Styles.INTEGER}"><v>{value}</v></c>'
    return text_xml(str(value))


def _float(value: float) -> str:
    if math.isfinite(value):
        return f"<c><v>{value!r}</v></c>"
    return text_xml(repr(value))


def _boolean(value: bool) -> str:
    return '<c t="b"><v>1</v></c>' if value else '<c t="b"><v>0</v></c>'


def _decimal(style: int) -> Callable[[Decimal], str]:
    prefix = f'<c s="{style}"><v>'

    def convert(value: Decimal) -> str:
        text = format(value, "f")
        if value.is_finite() and len(value.as_tuple().digits) <= MAX_DECIMAL_DIGITS:
            return prefix + text + "</v></c>"
        return text_xml(text)

    return convert


def _date(value: dt.date) -> str:
    if value < FIRST_EXACT_DAY:
        return text_xml(value.isoformat())
    return f'<c s="{ooxml.Styles.DATE}"><v>{value.toordinal() - EPOCH}</v></c>'


def _day_fraction(value: dt.time | dt.datetime) -> float:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return (seconds + value.microsecond / 1e6) / 86400


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value < FIRST_EXACT_DATETIME:
        return text_xml(value.isoformat(timespec="microseconds"))
    serial = value.toordinal() - EPOCH + _day_fraction(value)
    style = ooxml.Styles.DATETIME_MS if value.microsecond else ooxml.Styles.DATETIME
    return f'<c s="{style}"><v>{serial!r}</v></c>'


def _time(value: dt.time) -> str:
    style = ooxml.Styles.TIME_MS if value.microsecond else ooxml.Styles.TIME
    return f'<c s="{style}"><v>{_day_fraction(value)!r}</v></c>'


TYPED_CELLS: dict[Kind, Callable[[Any], str]] = {
    Kind.INTEGER: _integer,
    Kind.FLOAT: _float,
    Kind.BOOLEAN: _boolean,
    Kind.DATE: _date,
    Kind.DATETIME: _datetime,
    Kind.TIME: _time,
}

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
        self._converters = [
            self._converter(c, k, scale)
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

    def _converter(self, column, kind: Kind, scale: int | None) -> Callable[[Any], str]:
        if kind in TYPED_CELLS:
            return TYPED_CELLS[kind]
        if kind is Kind.DECIMAL:
            return _decimal(self.styles.decimal(scale or 0))
        if kind is Kind.TEXT:
            return text_xml if is_plain_text(column.field) else lambda v: text_xml(as_text(v))
        to_text = text_formatter(kind, vendor=self.vendor)
        return lambda value: text_xml(to_text(value))

    # The stream: begin() opens the ZIP and the first sheet, write_batch() adds rows (starting
    # a new sheet when one is full), end() closes the sheet and writes the parts listing them.

    def begin(self) -> bytes:
        self._reset()  # an Export may be iterated again
        self._pipe.add([("_rels/.rels", ooxml.ROOT_RELS), ("xl/styles.xml", self.styles.xml())])
        return self._start_sheet()

    def header(self) -> bytes:
        cells = "".join(
            HEADER_CELL.format(style=ooxml.Styles.HEADER, text=escape(cut(label)))
            for label in self.labels
        )
        return f'<row r="1">{cells}</row>'.encode()

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
        converters = self._converters
        return "".join(
            [
                f'<row r="{number}">'
                + "".join(
                    [
                        "<c/>" if value is None else convert(value)
                        for convert, value in zip(converters, row, strict=True)
                    ]
                )
                + "</row>"
                for number, row in enumerate(rows, start=first)
            ]
        ).encode()
