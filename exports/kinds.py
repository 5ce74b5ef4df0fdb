"""One table per field kind: its canonical text, formatter, parser and the SQL printing it.

Every engine, writer, filter and the importer takes a kind's behaviour from :data:`KINDS`, so
they cannot drift apart; adding a kind means adding one :class:`KindSpec` here (and its tests
in ``tests/test_kinds.py``).

======================  ==========================================================
kind                    canonical text (NULL is always "no value", see formats)
======================  ==========================================================
integer                 ``-12`` (decimal digits)
decimal                 ``12.30``: fixed point, never an exponent, the column's scale
float                   ``0.1``: Python's shortest round-trip ``repr`` (``1e+16``, ``-0.0``,
                        ``nan``, ``inf``)
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

The SQL columns are templates naming the column as ``{0}`` (``exports.expressions``); None
where that database's SQL cannot print the canonical form exactly. The PostgreSQL float SQL
needs ``extra_float_digits`` above 0 (the default since PostgreSQL 12; the copy engine sets it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_duration as django_parse_duration
from django.utils.duration import duration_iso_string

from . import sqltext as sql
from .jsontext import canonical_json_text, dump_jsonb  # noqa: F401  (re-exported)

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


INTEGER_TYPES = (
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
)
_INTERNAL_TYPES = {
    Kind.INTEGER: INTEGER_TYPES,
    Kind.DECIMAL: ("DecimalField",),
    Kind.FLOAT: ("FloatField",),
    Kind.BOOLEAN: ("BooleanField", "NullBooleanField"),
    Kind.DATE: ("DateField",),
    Kind.DATETIME: ("DateTimeField",),
    Kind.TIME: ("TimeField",),
    Kind.DURATION: ("DurationField",),
    Kind.UUID: ("UUIDField",),
    Kind.JSON: ("JSONField",),
    Kind.BINARY: ("BinaryField",),
}
_KINDS = {name: kind for kind, names in _INTERNAL_TYPES.items() for name in names}

# Internal types whose database values are always ``str``; any other type that falls back to
# the text kind (ArrayField, HStoreField, custom fields) is written as ``str(value)``, and the
# SQL engines cannot print it (its database text need not be ``str(value)``).
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


def target_of(field: models.Field) -> models.Field:
    """The field itself, or for a foreign key the field it refers to (transitively)."""
    while field.is_relation:
        target = getattr(field, "target_field", None)
        if target is None:
            break
        field = target
    return field


def is_plain_text(field: models.Field) -> bool:
    """True when the field's database values are always ``str`` (no conversion needed)."""
    return target_of(field).get_internal_type() in PLAIN_TEXT_TYPES


def kind_of(field: models.Field) -> Kind:
    """The canonical kind of a concrete field; a foreign key takes its target's kind."""
    return _KINDS.get(target_of(field).get_internal_type(), Kind.TEXT)


def uses_tz() -> bool:
    return bool(settings.USE_TZ)


# Formatters: a non-NULL database value to its canonical text.


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def format_decimal(value: Decimal) -> str:
    return format(value, "f")


def format_boolean(value: bool) -> str:
    return "true" if value else "false"


def format_binary(value: bytes | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


# Parsers: canonical text (and the common spellings people type) to a Python value. Filters
# and the importer share them, so both accept and refuse the same text with the same message.

TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})
NOT_A = '"{text}" is not {name}'
NOT_FINITE = '"{text}" is not a finite number'
AWARE_TIME = '"{text}" has a UTC offset; times are stored without one'
NOT_BASE64 = '"{text}" is not base64'


class ParseError(ValueError):
    """A text value that does not parse as its field's kind; ``str()`` says what was expected."""


class Unrepresentable(ParseError):
    """A value that parses as its field's kind but that the column cannot hold or compare."""


def _not_a(kind: Kind, text: str) -> ParseError:
    return ParseError(NOT_A.format(text=text, name=KINDS[kind].name))


def parse_integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _not_a(Kind.INTEGER, text) from None


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise _not_a(Kind.DECIMAL, text) from None
    if not value.is_finite():
        raise Unrepresentable(NOT_FINITE.format(text=text.strip()))
    return value


def parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _not_a(Kind.FLOAT, text) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Unrepresentable(NOT_FINITE.format(text=text.strip()))
    return value


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _not_a(Kind.BOOLEAN, text)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _not_a(Kind.DATE, text) from None


def parse_datetime(text: str) -> dt.datetime:
    """A date and time, made aware in the current time zone or naive as ``USE_TZ`` says.

    Raises OverflowError when that conversion leaves the calendar.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time())
        except ValueError:
            raise _not_a(Kind.DATETIME, text) from None
    if uses_tz() and timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    elif not uses_tz() and timezone.is_aware(value):
        value = timezone.make_naive(value, timezone.get_current_timezone())
    return value


def parse_time(text: str) -> dt.time:
    try:
        value = dt.time.fromisoformat(text.strip())
    except ValueError:
        raise _not_a(Kind.TIME, text) from None
    if value.tzinfo is not None:
        raise Unrepresentable(AWARE_TIME.format(text=text.strip()))
    return value


def parse_duration(text: str) -> dt.timedelta:
    try:
        value = django_parse_duration(text.strip())
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise _not_a(Kind.DURATION, text)
    return value


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise _not_a(Kind.UUID, text) from None


def parse_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError(NOT_BASE64.format(text=text[:40])) from None


@dataclass(frozen=True)
class KindSpec:
    """What one kind is: see the module docstring. ``parse`` is None for JSON, whose parser
    depends on the field's decoder (the importer's) or refuses more (filters'). The ``sqlite``
    templates of :data:`SQLITE_CHECKS` yield NULL where their check fails."""

    kind: Kind
    name: str
    format: Callable[[Any], str]
    parse: Callable[[str], Any] | None
    postgresql: str | None
    sqlite: str | None = None


KINDS: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            Kind.INTEGER, "an integer", str, parse_integer, sql.PG_INTEGER, sql.SQLITE_INTEGER
        ),
        # SQLite stores decimals as floats, which Django rounds to 15 digits and quantizes.
        KindSpec(Kind.DECIMAL, "a decimal number", format_decimal, parse_decimal, sql.PG_DECIMAL),
        KindSpec(Kind.FLOAT, "a number", repr, parse_float, sql.PG_FLOAT),
        KindSpec(
            Kind.BOOLEAN,
            "a boolean (true or false)",
            format_boolean,
            parse_bool,
            sql.BOOLEAN,
            sql.BOOLEAN,
        ),
        KindSpec(Kind.TEXT, "text", str, None, "{0}", sql.SQLITE_TEXT),
        KindSpec(
            Kind.DATE,
            "a date (YYYY-MM-DD)",
            dt.date.isoformat,
            parse_date,
            sql.PG_DATE,
            sql.SQLITE_DATE,
        ),
        KindSpec(
            Kind.DATETIME,
            "a date and time (YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM])",
            format_datetime,
            parse_datetime,
            None,  # depends on USE_TZ: see postgresql_sql() and sqlite_sql()
        ),
        KindSpec(
            Kind.TIME,
            "a time (HH:MM[:SS[.ffffff]])",
            dt.time.isoformat,
            parse_time,
            sql.PG_TIME,
            sql.SQLITE_TIME,
        ),
        KindSpec(
            Kind.DURATION,
            "a duration",
            duration_iso_string,
            parse_duration,
            sql.PG_DURATION,
            sql.SQLITE_DURATION,
        ),
        KindSpec(Kind.UUID, "a UUID", str, parse_uuid, sql.PG_UUID, sql.SQLITE_UUID),
        # SQLite keeps JSON as the text it was given (canonical_json_text rewrites it); it has
        # no base64 function.
        KindSpec(Kind.JSON, "JSON", str, None, sql.PG_JSON),
        KindSpec(Kind.BINARY, "base64", format_binary, parse_binary, sql.PG_BINARY),
    )
}
# The SQLite templates that print only the form Django stores: each check says when.
SQLITE_CHECKS = {
    Kind.DATE: sql.SQLITE_DATE_CHECK,
    Kind.DATETIME: sql.SQLITE_DATETIME_CHECK,
    Kind.TIME: sql.SQLITE_TIME_CHECK,
    Kind.DURATION: sql.SQLITE_DURATION_CHECK,
    Kind.UUID: sql.SQLITE_UUID_CHECK,
}


def postgresql_sql(kind: Kind) -> str | None:
    """The PostgreSQL template printing ``kind``'s canonical text (``{0}`` is the column)."""
    if kind is Kind.DATETIME:
        return sql.PG_DATETIME_UTC if uses_tz() else sql.PG_DATETIME_NAIVE
    return KINDS[kind].postgresql


def sqlite_sql(kind: Kind, *, stored_in_utc: bool) -> str | None:
    """The SQLite template printing ``kind``'s canonical text, or None. ``stored_in_utc``: the
    connection stores datetimes in UTC (its ``TIME_ZONE`` is unset or UTC), so an aware
    value's text is the stored text; otherwise SQL cannot convert it."""
    if kind is Kind.DATETIME:
        if not uses_tz():
            return sql.sqlite_datetime("")
        return sql.sqlite_datetime("+00:00") if stored_in_utc else None
    return KINDS[kind].sqlite


def text_formatter(kind: Kind, *, vendor: str) -> Callable[[Any], str]:
    """Return the function that turns a non-NULL database value of ``kind`` into text.

    ``vendor`` matters only for JSON, which the engines fetch as the database's own text:
    PostgreSQL's ``jsonb`` text is canonical already, other databases' is rewritten to it.
    """
    if kind is Kind.JSON and vendor != "postgresql":
        return canonical_json_text
    return KINDS[kind].format


KIND_NAMES = {kind: spec.name for kind, spec in KINDS.items()}
