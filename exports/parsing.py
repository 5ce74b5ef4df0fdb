"""Parse canonical text (and the common spellings people type) back into Python values.

Used to type ``--filter`` values and query-string filters; the importer builds on it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_duration

from .textforms import Kind, kind_of, uses_tz

TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})

KIND_NAMES = {
    Kind.INTEGER: "an integer",
    Kind.DECIMAL: "a decimal number",
    Kind.FLOAT: "a number",
    Kind.BOOLEAN: "a boolean (true or false)",
    Kind.DATE: "a date (YYYY-MM-DD)",
    Kind.DATETIME: "a date and time (YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM])",
    Kind.TIME: "a time (HH:MM[:SS[.ffffff]])",
    Kind.DURATION: "a duration",
    Kind.UUID: "a UUID",
    Kind.JSON: "JSON",
}


class ParseError(ValueError):
    """A text value that does not parse as its field's kind; ``str()`` says what was expected."""


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ParseError(f'"{text}" is not {KIND_NAMES[Kind.BOOLEAN]}')


def parse_datetime(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time())
        except ValueError:
            raise ParseError(f'"{text}" is not {KIND_NAMES[Kind.DATETIME]}') from None
    if uses_tz() and timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    elif not uses_tz() and timezone.is_aware(value):
        value = timezone.make_naive(value, timezone.get_current_timezone())
    return value


def parse_value(field: models.Field, text: str) -> Any:
    """Parse ``text`` as a value of ``field``'s kind, raising ParseError on bad input."""
    kind = kind_of(field)
    try:
        if kind is Kind.BOOLEAN:
            return parse_bool(text)
        if kind is Kind.INTEGER:
            return int(text.strip())
        if kind is Kind.DECIMAL:
            value = Decimal(text.strip())
            if not value.is_finite():
                raise ValueError(text)
            return value
        if kind is Kind.FLOAT:
            return float(text.strip())
        if kind is Kind.DATE:
            return dt.date.fromisoformat(text.strip())
        if kind is Kind.DATETIME:
            return parse_datetime(text)
        if kind is Kind.TIME:
            return dt.time.fromisoformat(text.strip())
        if kind is Kind.DURATION:
            value = parse_duration(text.strip())
            if value is None:
                raise ValueError(text)
            return value
        if kind is Kind.UUID:
            return uuid.UUID(text.strip())
    except (ValueError, InvalidOperation, ArithmeticError):
        raise ParseError(f'"{text}" is not {KIND_NAMES[kind]}') from None
    try:
        return field.to_python(text)
    except ValidationError as exc:
        raise ParseError(f'"{text}": {" ".join(exc.messages)}') from None
