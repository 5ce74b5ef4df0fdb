"""The cells of the streamed XLSX writer: one renderer per column, a batch at a time.

A renderer takes a batch's values of one column and returns the XML of their cells (``<c/>``
for NULL). Working a column at a time lets clean text go through C-level string operations
(one join, a few scans, one split) instead of a check per value; see :func:`text_cells`. The
rules are the README's "XLSX" section and :mod:`exports.formats.xlsx`'s docstring.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..kinds import UTC, Kind
from .ooxml import Styles

Render = Callable[[Sequence[Any]], list[str]]

NULL = "<c/>"
MAX_CELL_CHARS = 32_767
# What Excel and LibreOffice keep of a number: 15 significant digits.
MAX_EXACT_INTEGER = 10**15 - 1
MAX_DECIMAL_DIGITS = 15
CUT_MARKER = "…[cut: {length:,} characters]"

# Serial numbers count days from 1899-12-30, right from 1900-03-01 on (Excel takes 1900 for
# a leap year, so its serials before that date are one day off, and it has none before 1900).
EPOCH = dt.date(1899, 12, 30).toordinal()
EPOCH_NAIVE = dt.datetime(1899, 12, 30)
EPOCH_AWARE = EPOCH_NAIVE.replace(tzinfo=UTC)
FIRST_EXACT_DAY = dt.date(1900, 3, 1)
FIRST_EXACT_NAIVE = dt.datetime(1900, 3, 1)
FIRST_EXACT_AWARE = FIRST_EXACT_NAIVE.replace(tzinfo=UTC)
DAY_SECONDS = 86_400

CELL_OPEN = '<c t="inlineStr"><is><t>'
CELL_CLOSE = "</t></is></c>"
PRESERVED_OPEN = '<c t="inlineStr"><is><t xml:space="preserve">'
SEPARATOR = "\x00"  # never in a clean text: XML cannot hold it
SPLIT = CELL_CLOSE + SEPARATOR + CELL_OPEN

# Text XML cannot hold as it is: XML's specials, CR (XML reads a raw one as LF), characters
# XML 1.0 refuses, text Excel would read as an _xHHHH_ escape, blanks at either end.
_SPECIAL = re.compile(
    r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s\Z"
)
_UNWRITABLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)
_EDGE_BLANK = re.compile(r"^\s|\s\Z")
# In a joined column of printable texts: what makes one of them need escaping (the only
# printable blank is the space).
_JOINED_SPECIALS = ("&", "<", ">", "_x", SEPARATOR + " ", " " + SEPARATOR)


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
    text = text.replace("\r", "&#13;")  # a reference stays a CR
    return _UNWRITABLE.sub(_escape_code, text)


def text_xml(text: str) -> str:
    """The XML of a text cell holding ``text`` (cut to fit, escaped)."""
    text = cut(text)
    if not _SPECIAL.search(text):
        return CELL_OPEN + text + CELL_CLOSE
    opening = PRESERVED_OPEN if _EDGE_BLANK.search(text) else CELL_OPEN
    return opening + escape(text) + CELL_CLOSE


def text_cells(texts: list[str]) -> list[str]:
    """The cells of ``texts``: all at once when none needs escaping or cutting (the usual
    case), else one by one."""
    if not texts:
        return []
    joined = SEPARATOR.join(texts)
    if (
        all(map(str.isprintable, texts))
        and max(map(len, texts)) <= MAX_CELL_CHARS // 2
        and not any(special in joined for special in _JOINED_SPECIALS)
        and not joined.startswith(" ")
        and not joined.endswith(" ")
    ):
        return (CELL_OPEN + joined.replace(SEPARATOR, SPLIT) + CELL_CLOSE).split(SEPARATOR)
    return list(map(text_xml, texts))


def with_nulls(render: Callable[[list[Any]], list[str]]) -> Render:
    """A renderer for a column with NULLs from one that takes non-NULL values only."""

    def render_column(values: Sequence[Any]) -> list[str]:
        if None not in values:
            return render(list(values))
        cells = iter(render([v for v in values if v is not None]))
        return [NULL if v is None else next(cells) for v in values]

    return render_column


def text_column(to_text: Callable[[Any], str] | None = None) -> Render:
    if to_text is None:
        return with_nulls(text_cells)
    return with_nulls(lambda values: text_cells(list(map(to_text, values))))


def per_value(convert: Callable[[Any], str]) -> Render:
    return lambda values: [NULL if v is None else convert(v) for v in values]


def _integer(value: int) -> str:
    if -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
        return f'<c s="{Styles.INTEGER}"><v>{value}</v></c>'
    return text_xml(str(value))


def _float(value: float) -> str:
    if math.isfinite(value):
        return f"<c><v>{value!r}</v></c>"
    return text_xml(repr(value))


def _boolean(value: bool) -> str:
    return '<c t="b"><v>1</v></c>' if value else '<c t="b"><v>0</v></c>'


def decimal_column(style: int) -> Render:
    def convert(value: Decimal) -> str:
        text = format(value, "f")
        if value.is_finite() and len(value.as_tuple().digits) <= MAX_DECIMAL_DIGITS:
            return f'<c s="{style}"><v>{text}</v></c>'
        return text_xml(text)

    return per_value(convert)


def _date(value: dt.date) -> str:
    if value < FIRST_EXACT_DAY:
        return text_xml(value.isoformat())
    return f'<c s="{Styles.DATE}"><v>{value.toordinal() - EPOCH}</v></c>'


def _datetime(value: dt.datetime) -> str:
    """Aware values in UTC (the difference from an aware epoch is UTC's), naive ones as
    they are; microseconds count exactly up to the last division."""
    aware = value.tzinfo is not None
    if value < (FIRST_EXACT_AWARE if aware else FIRST_EXACT_NAIVE):
        if aware:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return text_xml(value.isoformat(timespec="microseconds"))
    serial = (value - (EPOCH_AWARE if aware else EPOCH_NAIVE)).total_seconds() / DAY_SECONDS
    style = Styles.DATETIME_MS if value.microsecond else Styles.DATETIME
    return f'<c s="{style}"><v>{serial!r}</v></c>'


def _time(value: dt.time) -> str:
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    style = Styles.TIME_MS if value.microsecond else Styles.TIME
    return f'<c s="{style}"><v>{seconds / DAY_SECONDS!r}</v></c>'


TYPED_COLUMNS: dict[Kind, Render] = {
    Kind.INTEGER: per_value(_integer),
    Kind.FLOAT: per_value(_float),
    Kind.BOOLEAN: per_value(_boolean),
    Kind.DATE: per_value(_date),
    Kind.DATETIME: per_value(_datetime),
    Kind.TIME: per_value(_time),
}
