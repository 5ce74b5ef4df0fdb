"""One canonical text form per field type, shared by every engine and accepted by the importer.

======================  ==========================================================
kind                    canonical text (NULL is always "no value", see formats)
======================  ==========================================================
integer                 ``-12`` (decimal digits)
decimal                 ``12.30``: fixed point, never an exponent, the column's scale
float                   ``0.1``: Python's shortest round-trip ``repr``
boolean                 ``true`` / ``false``
text                    the text itself (formula-neutralised on request: ``neutralise_formula``)
date                    ``2024-01-31``
datetime (aware)        ``2024-01-31T13:45:00.000000+00:00``: UTC, always microseconds
datetime (naive)        ``2024-01-31T13:45:00.000000`` (``USE_TZ = False``)
time                    ``13:45:00`` or ``13:45:00.250000`` (``time.isoformat()``)
duration                ISO 8601, ``P1DT02H03M04S`` (Django's ``duration_iso_string``)
uuid                    ``0b0cbe5a-4f9d-4c1a-9b61-2b0f4c8e0d11`` (lower case, hyphens)
json                    PostgreSQL's ``jsonb`` text: ``{"a": 1, "bb": [true, null]}``
binary                  base64 (RFC 4648, no line breaks)
======================  ==========================================================
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.duration import duration_iso_string

UTC = dt.UTC


class Kind(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"
    UUID = "uuid"
    JSON = "json"
    BINARY = "binary"


_KINDS = {
    "AutoField": Kind.INTEGER,
    "BigAutoField": Kind.INTEGER,
    "SmallAutoField": Kind.INTEGER,
    "IntegerField": Kind.INTEGER,
    "BigIntegerField": Kind.INTEGER,
    "SmallIntegerField": Kind.INTEGER,
    "PositiveIntegerField": Kind.INTEGER,
    "PositiveBigIntegerField": Kind.INTEGER,
    "PositiveSmallIntegerField": Kind.INTEGER,
    "DecimalField": Kind.DECIMAL,
    "FloatField": Kind.FLOAT,
    "BooleanField": Kind.BOOLEAN,
    "NullBooleanField": Kind.BOOLEAN,
    "DateField": Kind.DATE,
    "DateTimeField": Kind.DATETIME,
    "TimeField": Kind.TIME,
    "DurationField": Kind.DURATION,
    "UUIDField": Kind.UUID,
    "JSONField": Kind.JSON,
    "BinaryField": Kind.BINARY,
}


# Internal types whose database values are always ``str``; any other type that falls back to
# the text kind (ArrayField, HStoreField, custom fields) is written as ``str(value)``.
PLAIN_TEXT_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
        "FilePathField",
        "FileField",
        "ImageField",
    }
)


def is_plain_text(field: models.Field) -> bool:
    """True when the field's database values are always ``str`` (no conversion needed)."""
    while field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field
    return field.get_internal_type() in PLAIN_TEXT_TYPES


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def kind_of(field: models.Field) -> Kind:
    """The canonical kind of a concrete field; a foreign key takes its target's kind."""
    while field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field
    return _KINDS.get(field.get_internal_type(), Kind.TEXT)


# Formula neutralising (OWASP CSV injection) for downloads meant for people; the rule is the
# README's "Spreadsheet formulas". Each pattern is written once, in a syntax that Python's
# ``re`` and PostgreSQL's regular expressions read alike, so the copy engine's SQL twin below
# prints the same bytes as the Python writers.
FORMULA_SIGNS = r"=+\-@\uFF1D\uFF0B\uFF0D\uFF20\u2212"
# Readers trim some blanks (LibreOffice's "Trim spaces"; a BOM at the start of a file is taken
# for the encoding mark), and which ones differs by program: a sign after any of them counts.
# LibreOffice drops NUL when it reads a CSV: "x;<NUL>=1+1" read with ";" ran as a formula.
FORMULA_BLANKS = r" \u00A0\u2000-\u200D\u202F\u205F\u2060\u3000\uFEFF\x00"
# Where a reader may start a new cell inside a value: another locale's separator, a tab, or a
# line break (quoting does not stop a reader that splits on another separator).
CELL_BREAKS = r",;\t\r\n"
LEADING_FORMULA = rf'[\t\r\n\x00]|[{FORMULA_BLANKS}"]*[{FORMULA_SIGNS}]'
# A break, then a sign after blanks: replaced by the break, a "'", and the rest. Blanks and
# signs hold no break, so consuming them never hides the next break (a lookahead would say
# the same, and PostgreSQL runs it far slower).
INNER_FORMULA = rf'([{CELL_BREAKS}])([{FORMULA_BLANKS}"]*[{FORMULA_SIGNS}])'
# jsonb text has ", " between items and a number may follow it: JSON cells skip no ASCII
# space, so the rule only ever lands inside JSON strings and the cell stays valid JSON.
INNER_JSON_FORMULA = rf'([{CELL_BREAKS}])([{FORMULA_BLANKS[1:]}"]*[{FORMULA_SIGNS}])'
INSERT = r"\1'\2"

_leading = re.compile(LEADING_FORMULA).match
_inner = re.compile(INNER_FORMULA)
_inner_json = re.compile(INNER_JSON_FORMULA)
_risky = re.compile(rf"^(?:{LEADING_FORMULA})|{INNER_FORMULA}").search


def _sql_pattern(pattern: str) -> str:
    # PostgreSQL text never holds NUL, and its regular expressions refuse \x00.
    return "'" + pattern.replace(r"\x00", "") + "'"


# SQLTemplate strings (the column is {0}) printing what the two functions below return.
_INSERT_SQL = "'" + INSERT.replace("'", "''") + "'"
FORMULA_SQL = (
    f"CASE WHEN {{0}} ~ {_sql_pattern('^(?:' + LEADING_FORMULA + ')')} THEN '''' ELSE '' END"
    f" || regexp_replace({{0}}, {_sql_pattern(INNER_FORMULA)}, {_INSERT_SQL}, 'g')"
)
JSON_FORMULA_SQL = (
    f"regexp_replace(({{0}})::text, {_sql_pattern(INNER_JSON_FORMULA)}, {_INSERT_SQL}, 'g')"
)


def neutralise_formula(text: str) -> str:
    """Insert ``'`` at each cell start in ``text`` that a spreadsheet could run as a formula.

    A cell start is the start of the text or the character after a ``,``, ``;``, tab, CR or
    LF. It is neutralised when a formula sign (``= + - @``, their full-width forms, U+2212)
    follows, possibly after blanks and ``"``; a text starting with a tab, CR, LF or NUL is too.
    """
    if not _risky(text):
        return text
    lead = "'" if _leading(text) else ""
    return lead + _inner.sub(INSERT, text)


def neutralise_json_formula(text: str) -> str:
    """The same rule for a JSON cell, after separators only (within its strings).

    JSON text starts with ``{``, ``[``, ``"``, a literal, a digit or ``-`` (a number, left as
    it is like number columns), and its strings hold no raw tab or line break.
    """
    if _inner_json.search(text) is None:
        return text
    return _inner_json.sub(INSERT, text)


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _date(value: dt.date) -> str:
    return value.isoformat()


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _binary(value: bytes | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _jsonb_key(item: tuple[str, Any]) -> tuple[int, bytes]:
    encoded = item[0].encode("utf-8")
    return (len(encoded), encoded)


def dump_jsonb(value: Any) -> str:
    """Write a decoded JSON value the way PostgreSQL prints ``jsonb``.

    Keys are ordered as jsonb stores them (shorter first, then bytewise), separators are
    ``", "`` and ``": "``, non-ASCII characters are kept, numbers keep their text when they
    were parsed as :class:`~decimal.Decimal`.
    """
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=_jsonb_key)
        return "{" + ", ".join(f"{encode_basestring(k)}: {dump_jsonb(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dump_jsonb(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_json_text(text: str) -> str:
    """Canonicalise JSON text as stored by a database without ``jsonb`` (SQLite, ...)."""
    return dump_jsonb(json.loads(text, parse_float=Decimal))


def text_formatter(kind: Kind, *, vendor: str) -> Callable[[Any], str]:
    """Return the function that turns a non-NULL database value of ``kind`` into text.

    ``vendor`` matters only for JSON, which the engines fetch as the database's own text:
    PostgreSQL's ``jsonb`` text is canonical already, other databases' is rewritten to it.
    """
    if kind is Kind.INTEGER:
        return str
    if kind is Kind.TEXT:
        return str
    if kind is Kind.DECIMAL:
        return _decimal
    if kind is Kind.FLOAT:
        return repr
    if kind is Kind.BOOLEAN:
        return _boolean
    if kind is Kind.DATE:
        return _date
    if kind is Kind.DATETIME:
        return _datetime
    if kind is Kind.TIME:
        return dt.time.isoformat
    if kind is Kind.DURATION:
        return duration_iso_string
    if kind is Kind.UUID:
        return str
    if kind is Kind.JSON:
        return str if vendor == "postgresql" else canonical_json_text
    if kind is Kind.BINARY:
        return _binary
    raise AssertionError(kind)  # pragma: no cover


def uses_tz() -> bool:
    return bool(settings.USE_TZ)
