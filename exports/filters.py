"""Filters given as text (``status=paid``, ``created_at__gte=2024-01-01``), typed by their field.

The management command, the download view and the admin's export share this; it raises
ExportError with a message naming the filter before any query runs. A value is refused not only
when it does not parse but also when the column cannot hold or compare it (an integer beyond
the column's type on that database, a decimal beyond its digits, a datetime that leaves the
calendar once converted to UTC, a NUL character...): those would otherwise fail in the database
after the first byte of an export had gone out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q

from .columns import resolve_path
from .errors import ExportError
from .kinds import (
    KIND_NAMES,
    Kind,
    ParseError,
    Unrepresentable,
    kind_of,
    parse_bool,
    parse_datetime,
    target_of,
)
from .parsing import parse_value

TEXT_LOOKUPS = frozenset(
    {"contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact"}
)
VALUE_LOOKUPS = frozenset({"exact", "gt", "gte", "lt", "lte"})
LOOKUPS = TEXT_LOOKUPS | VALUE_LOOKUPS | {"in", "range", "isnull"}
# JSON is compared as a whole value; text and order lookups mean different things per backend.
JSON_LOOKUPS = ("exact", "isnull")
# Every value of a list is a query parameter; SQLite builds allow 999 in older releases.
MAX_IN_VALUES = 1000
# Django stores a duration as 64-bit microseconds where the database has no interval type.
MAX_DURATION = dt.timedelta(microseconds=2**63 - 1)
SHOWN_LENGTH = 200

BAD_FILTER_SYNTAX = 'Bad filter "{text}": write LOOKUP=VALUE, for example status=paid.'
BAD_LOOKUP = 'Bad filter "{text}": unknown lookup "{lookup}"; use one of: {choices}.'
BAD_VALUE = 'Bad filter "{text}": {problem}.'
BAD_RANGE = 'Bad filter "{text}": a range needs two values separated by a comma.'

NUL_IN_VALUE = (
    "the value contains a NUL character (\\x00), which the database cannot store or compare"
)
NOT_UNICODE = "the value is not valid Unicode text"
TOO_MANY_VALUES = "a list takes at most {limit} values"
JSON_LOOKUP_ONLY = "a JSON field takes only the lookups {choices}"
INTEGER_OUT_OF_RANGE = '"{text}" is out of range for this field ({low} to {high})'
DECIMAL_TOO_BIG = (
    '"{text}" does not fit this field (at most {before} digits before the decimal point and '
    "{places} after)"
)
DATETIME_OUT_OF_RANGE = '"{text}" is out of range once converted to UTC'
DURATION_OUT_OF_RANGE = '"{text}" is out of range for a duration (within ±{days} days)'
NUL_IN_JSON = '"{text}" holds a NUL character (\\x00), which the database cannot store or compare'


def split_filter(text: str) -> tuple[str, str]:
    lookup, sep, value = text.partition("=")
    if not sep or not lookup.strip():
        raise ExportError(BAD_FILTER_SYNTAX.format(text=text))
    return lookup.strip(), value


def shown(text: str) -> str:
    """``text`` fit for a message: NUL and lone surrogates escaped, long values cut."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "…"


def split_lookup(model: type[models.Model], lookup: str, text: str) -> tuple[models.Field, str]:
    """``(field, lookup name)`` for ``customer__email__iendswith``, or ExportError."""
    parts = lookup.split("__")
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        path, name = "__".join(parts[:-1]), parts[-1]
    else:
        path, name = lookup, "exact"
    try:
        field = resolve_path(model, path)
    except ExportError as exc:
        # The last part may be a lookup Django has but we do not offer.
        if len(parts) > 1:
            try:
                resolve_path(model, "__".join(parts[:-1]))
            except ExportError:
                pass
            else:
                raise ExportError(
                    BAD_LOOKUP.format(
                        text=shown(text), lookup=parts[-1], choices=", ".join(sorted(LOOKUPS))
                    )
                ) from None
        raise ExportError(f'Bad filter "{shown(text)}": {exc}') from None
    return field, name


def parse_filter(
    model: type[models.Model], lookup: str, value: str, *, using: str | None = None
) -> tuple[str, Any]:
    """Return ``(django_lookup, typed_value)`` for one filter, or raise ExportError.

    ``using`` is the database the query will run on (default: the router's choice for reads):
    what an integer column holds depends on it.
    """
    text = f"{lookup}={value}"
    field, name = split_lookup(model, lookup, text)
    connection = connections[using or router.db_for_read(model)]
    try:
        typed = filter_value(field, name, value, connection=connection)
    except _BadRange:
        raise ExportError(BAD_RANGE.format(text=shown(text))) from None
    except ParseError as exc:
        raise ExportError(BAD_VALUE.format(text=shown(text), problem=exc)) from None
    return lookup, typed


class _BadRange(ParseError):
    """A ``__range`` value that is not two comma-separated values."""


def filter_value(
    field: models.Field, name: str, value: str, *, connection: BaseDatabaseWrapper
) -> Any:
    """Type ``value`` for lookup ``name`` on ``field``; raise ParseError (or Unrepresentable)."""
    check_text(value)
    if name == "isnull":
        return parse_bool(value)
    if kind_of(field) is Kind.JSON and name not in JSON_LOOKUPS:
        raise ParseError(JSON_LOOKUP_ONLY.format(choices=" and ".join(JSON_LOOKUPS)))
    if name in TEXT_LOOKUPS:
        return value
    if name == "in":
        items = value.split(",")
        if len(items) > MAX_IN_VALUES:
            raise ParseError(TOO_MANY_VALUES.format(limit=MAX_IN_VALUES))
        return [_value(field, item, connection) for item in items]
    if name == "range":
        items = value.split(",")
        if len(items) != 2:
            raise _BadRange
        return tuple(_value(field, item, connection) for item in items)
    return _value(field, value, connection)


def check_text(value: str) -> None:
    """Refuse what no database column can be compared with: NUL and lone surrogates."""
    if "\x00" in value:
        raise Unrepresentable(NUL_IN_VALUE)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Unrepresentable(NOT_UNICODE) from None


def _value(field: models.Field, text: str, connection: BaseDatabaseWrapper) -> Any:
    kind = kind_of(field)
    if kind is Kind.JSON:
        return _json(text)
    if kind is Kind.DATETIME:
        try:
            value = parse_datetime(text)
        except OverflowError:  # made aware or naive across the calendar's ends
            raise Unrepresentable(DATETIME_OUT_OF_RANGE.format(text=text)) from None
    else:
        value = parse_value(field, text)
    check = _CHECKS.get(kind)
    if check is not None:
        check(field, value, text, connection)
    return value


def _check_integer(field, value: int, text: str, connection) -> None:
    field = target_of(field)
    try:
        low, high = connection.ops.integer_field_range(field.get_internal_type())
    except KeyError:  # a custom integer type Django has no range for
        return
    if (low is not None and value < low) or (high is not None and value > high):
        raise Unrepresentable(INTEGER_OUT_OF_RANGE.format(text=text.strip(), low=low, high=high))


def _check_decimal(field, value: Decimal, text: str, connection) -> None:
    digits, places = field.max_digits, field.decimal_places
    if digits is None or places is None:
        return
    sign, numerals, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # parse_decimal refuses NaN and infinities
    numerals = tuple(numerals)
    while len(numerals) > 1 and numerals[-1] == 0:  # 1.500 has one decimal place
        numerals = numerals[:-1]
        exponent += 1
    if numerals == (0,):
        return
    after = max(0, -exponent)
    before = max(0, len(numerals) + exponent)
    if after > places or before > digits - places:
        raise Unrepresentable(
            DECIMAL_TOO_BIG.format(text=text.strip(), before=digits - places, places=places)
        )


def _check_datetime(field, value: dt.datetime, text: str, connection) -> None:
    if value.tzinfo is not None:
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            raise Unrepresentable(DATETIME_OUT_OF_RANGE.format(text=text.strip())) from None


def _check_duration(field, value: dt.timedelta, text: str, connection) -> None:
    if abs(value) > MAX_DURATION:
        days = MAX_DURATION.days
        raise Unrepresentable(DURATION_OUT_OF_RANGE.format(text=text.strip(), days=days))


_CHECKS: dict[Kind, Callable[..., None]] = {
    Kind.INTEGER: _check_integer,
    Kind.DECIMAL: _check_decimal,
    Kind.DATETIME: _check_datetime,
    Kind.DURATION: _check_duration,
}


def _json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        value = json.loads(text, parse_constant=refuse)
    except ValueError:
        raise ParseError(f'"{text}" is not {KIND_NAMES[Kind.JSON]}') from None
    if _holds_nul(value):
        raise Unrepresentable(NUL_IN_JSON.format(text=text))
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def build_q(
    model: type[models.Model], filters: Iterable[tuple[str, str]], *, using: str | None = None
) -> Q:
    """AND together ``(lookup, value)`` pairs, each typed and checked by :func:`parse_filter`."""
    q = Q()
    for lookup, value in filters:
        key, typed = parse_filter(model, lookup, value, using=using)
        q &= Q(**{key: typed})
    return q
