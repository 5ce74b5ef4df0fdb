"""Converters: a file's value (text, or a JSON value) to the value to store, or BadValue.

Each column gets one converter, built once from its model field: the canonical text forms of
:mod:`exports.kinds` are parsed as the exporter writes them (:func:`text_parser`), then the
NULL/blank rules and the field's own rules (:mod:`exports.imports.rules`) are applied.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ..kinds import (
    KIND_NAMES,
    KINDS,
    Kind,
    kind_of,
    parse_datetime,
    parse_decimal,
    parse_float,
)
from .errors import NOT_BLANK, NOT_NULL, NUL_CHARACTER, WRONG_JSON_TYPE
from .plan import value_target
from .rules import BadValue, Converter, ParseError, value_checks

UTC = dt.UTC
_NO_VALUE = object()


def _bad_kind(kind: Kind, text: str) -> BadValue:
    return BadValue(f'"{text}" is not {KIND_NAMES[kind]}')


# Parsers: canonical text (and common spellings) to a Python value, by kind (exports.kinds).


def _parse_datetime(text: str) -> dt.datetime:
    try:
        value = parse_datetime(text)
        # One instant, one spelling: UTC (also catches offsets that overflow year 1 or 9999).
        return value.astimezone(UTC) if value.tzinfo is not None else value
    except (ParseError, OverflowError, ValueError):
        raise _bad_kind(Kind.DATETIME, text) from None


def _datetime_parser() -> Converter:
    """``_parse_datetime`` with a fast path for the exporter's own form (UTC, offset +00:00)."""
    if not settings.USE_TZ:
        return _parse_datetime
    fromisoformat = dt.datetime.fromisoformat

    def parse(text: str) -> dt.datetime:
        try:
            value = fromisoformat(text)
        except ValueError:
            return _parse_datetime(text)
        if value.tzinfo is UTC:
            return value
        return _parse_datetime(text)

    return parse


def _holds_nul(value: Any) -> bool:
    """True when a decoded JSON value holds a NUL character (PostgreSQL's jsonb cannot).

    Checked on the decoded value: the text ``"\\\\u0000"`` (an escaped backslash) is no NUL.
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _parse_json(field: models.Field) -> Converter:
    decoder = getattr(field, "decoder", None) or json.JSONDecoder
    instance: Any = decoder(parse_constant=_reject_constant)
    decode = instance.decode
    # json.JSONDecoder.decode is scan_once plus whitespace and "extra data" checks: text that
    # starts with a value and ends with it needs neither; anything else goes through decode.
    scan = instance.scan_once if decoder is json.JSONDecoder else None

    def parse(text: str) -> Any:
        try:
            if scan is not None and text and not text[0].isspace():
                try:
                    value, end = scan(text, 0)
                except StopIteration:
                    value = decode(text)  # raises the error that names the position
                else:
                    if end != len(text):
                        value = decode(text)
            else:
                value = decode(text)
        except ValueError as exc:
            raise BadValue(f"not valid JSON: {exc}") from None
        # A NUL can only come from the escape (strict JSON refuses the raw control character).
        if "\\u0000" in text and _holds_nul(value):
            raise BadValue(NUL_CHARACTER)
        return value

    return parse


def _parse_other(field: models.Field) -> Converter:
    def parse(text: str) -> Any:
        try:
            return field.to_python(text)
        except ValidationError as exc:
            raise BadValue(f'"{text}": {" ".join(exc.messages)}') from None

    return parse


def text_parser(field: models.Field) -> Converter | None:
    """The parser for ``field``'s canonical text, or None for text kept as it is."""
    target = value_target(field)
    kind = kind_of(target)
    if kind is Kind.TEXT:
        if isinstance(target, models.CharField | models.TextField):
            return None
        return _parse_other(target)
    if kind is Kind.JSON:
        return _parse_json(target)
    if kind is Kind.DATETIME:
        return _datetime_parser()
    return KINDS[kind].parse or _parse_other(target)


# Converters: NULL rules, parse, checks.


def null_value(field: models.Field) -> Any:
    """What NULL in the file means for ``field``: None, or "" for a blank-able text field."""
    if field.null:
        return None
    target = value_target(field)
    if not field.is_relation and kind_of(target) is Kind.TEXT and field.blank:
        return ""
    return _NO_VALUE


def _null_or_raise(null: Any) -> Any:
    if null is _NO_VALUE:
        raise BadValue(NOT_NULL)
    return null


def keeps_json_text(field: models.Field) -> bool:
    """Whether a JSON value of ``field`` can be stored as the file's text (plain JSONField)."""
    return (
        isinstance(field, models.JSONField)
        and field.encoder is None
        and field.decoder in (None, json.JSONDecoder)
    )


def text_converter(field: models.Field, *, vendor: str, json_text: bool = False) -> Converter:
    """Text (or None for NULL) to the value to store, raising BadValue.

    With ``json_text`` a plain JSONField's value is checked as JSON and then kept as the
    file's text, for PostgreSQL's COPY to parse: no second serialisation, and numbers keep
    every digit (json.loads would make 0.10000000000000000555 the float 0.1).
    """
    convert = _text_converter(field, vendor=vendor)
    plain_decimal = _plain_decimal(field, vendor=vendor)
    if plain_decimal is not None:
        checked = convert

        def convert(text: str | None) -> Any:
            # Digits that fit max_digits and decimal_places as they are: the checks would
            # pass and change nothing. Anything else (exponents, signs, spaces) is checked.
            if text is not None and plain_decimal(text):
                return Decimal(text)
            return checked(text)

    if not (json_text and keeps_json_text(field)):
        return convert

    def keep_text(text: str | None) -> str | None:
        return None if convert(text) is None else text

    return keep_text


def _plain_decimal(field: models.Field, *, vendor: str) -> Callable[[str], Any] | None:
    """For a DecimalField with no rule but its digits: a match for text that obeys them."""
    if not isinstance(field, models.DecimalField) or field.choices:
        return None
    if len(value_checks(field, vendor=vendor)) != 1:  # the digits check, and nothing else
        return None
    places = field.decimal_places or 0
    whole = (field.max_digits or 0) - places
    if field.max_digits is None or whole < 1:
        return None
    fraction = rf"(?:\.\d{{1,{places}}})?" if places else ""
    return re.compile(rf"-?\d{{1,{whole}}}{fraction}").fullmatch


def empty_is_null(field: models.Field) -> bool:
    """Whether an empty field means NULL for ``field`` even when quoted (``""``).

    True for the types that have no empty value (numbers, dates, times, booleans, UUIDs,
    JSON...): files written with every field quoted (pandas' ``QUOTE_ALL``, many spreadsheet
    and ETL exports) spell each missing value ``""``. Text (and binary: ``""`` is ``b""``)
    keeps the dialect's distinction between NULL and the empty string.
    """
    target = value_target(field)
    return not target.empty_strings_allowed


def _text_converter(field: models.Field, *, vendor: str) -> Converter:
    parser = text_parser(field)
    checks = value_checks(field, vendor=vendor)
    null = null_value(field)
    blank_ok = field.blank or field.is_relation
    is_text = parser is None
    parse = cast(Converter, parser)  # called only when not is_text
    # `not text` costs what `text is None` does; "" then goes on only where it is a value.
    empty_null = empty_is_null(field)

    def convert(text: str | None) -> Any:
        if not text and (text is None or empty_null):
            return _null_or_raise(null)
        if is_text:
            if not text and not blank_ok:
                raise BadValue(NOT_BLANK)
            value = text
        else:
            value = parse(text)
        for check in checks:
            value = check(value)
        return value

    if is_text:
        if len(checks) == 1:
            (check,) = checks

            def convert_text(text: str | None) -> Any:
                if text is None:
                    return _null_or_raise(null)
                if not text and not blank_ok:
                    raise BadValue(NOT_BLANK)
                return check(text)

            return convert_text
        return convert
    if len(checks) > 1:
        return convert
    # The same steps without the loop, for a parsed value with at most one check (most fields):
    # these run once per value of a file.
    if not checks:

        def convert_parsed(text: str | None) -> Any:
            if not text and (text is None or empty_null):
                return _null_or_raise(null)
            return parse(text)

        return convert_parsed
    (check,) = checks

    def convert_checked(text: str | None) -> Any:
        if not text and (text is None or empty_null):
            return _null_or_raise(null)
        return check(parse(text))

    return convert_checked


_JSON_TYPES = {
    Kind.INTEGER: (int,),
    Kind.FLOAT: (int, float),
    Kind.DECIMAL: (int, float),
    Kind.BOOLEAN: (bool,),
}
_JSON_NAMES = {bool: "true or false", int: "a number", float: "a number", str: "a string"}


def json_converter(field: models.Field, *, vendor: str) -> Converter:
    """A JSON Lines value (any JSON type) to the value to store, raising BadValue."""
    from_text = text_converter(field, vendor=vendor)
    target = value_target(field)
    kind = kind_of(target)
    checks = value_checks(field, vendor=vendor)
    null = null_value(field)
    if kind is Kind.JSON:

        def convert_json(value: Any) -> Any:
            if value is None:
                if null is _NO_VALUE:
                    raise BadValue(NOT_NULL)
                return null
            if _holds_nul(value):
                raise BadValue(NUL_CHARACTER)
            return value

        return convert_json
    native = _JSON_TYPES.get(kind, ())

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return from_text(value)
        if not isinstance(value, native) or (isinstance(value, bool) and bool not in native):
            expected = _JSON_NAMES[native[0]] if native else "a string"
            found = "true or false" if isinstance(value, bool) else type(value).__name__
            raise BadValue(WRONG_JSON_TYPE.format(expected=expected, found=found))
        if kind is Kind.DECIMAL:
            value = parse_decimal(str(value))
        elif kind is Kind.FLOAT:
            value = parse_float(repr(float(value)))
        for check in checks:
            value = check(value)
        return value

    return convert
