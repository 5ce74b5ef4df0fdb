"""Binding: text (or JSON) values in, typed values out, or a message per bad value.

Each column gets one converter, built once from its model field: the canonical text forms of
:mod:`exports.textforms` are parsed as the exporter writes them, then the field's own rules are
applied (NULL/blank, ``max_length``, choices, integer ranges, decimal digits, validators such
as ``EmailValidator``). The checks the databases disagree on (NUL characters, over-long text,
extra decimal places, out-of-range integers, non-finite floats) are made here, so SQLite and
PostgreSQL give the same answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.backends.base.operations import BaseDatabaseOperations

from ..formats.reading import Record
from ..kinds import (
    KIND_NAMES,
    KINDS,
    Kind,
    ParseError,
    kind_of,
    parse_datetime,
    parse_decimal,
    parse_float,
)
from .errors import (
    FIELD_COUNT,
    FIELD_TOO_LONG,
    NOT_A_CHOICE,
    NOT_BLANK,
    NOT_NULL,
    NUL_CHARACTER,
    OUT_OF_RANGE,
    TOO_LONG,
    TOO_MANY_DIGITS,
    TOO_MANY_PLACES,
    TOO_MANY_WHOLE_DIGITS,
    WRONG_JSON_TYPE,
    RowError,
)
from .plan import Plan

UTC = dt.UTC
# The same integer ranges on every backend (SQLite's own are wider): see the module docstring.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
_HANDLED_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.DecimalValidator,
)
_NO_VALUE = object()


# A value that does not bind; ``str()`` is the message for the reject file. The same class as
# the shared parsers' error (exports.kinds), so a parser's refusal needs no translation.
BadValue = ParseError


Converter = Callable[[Any], Any]


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
    instance = decoder(parse_constant=_reject_constant)
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
    target = field
    while target.is_relation:
        target = target.target_field
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


# Checks: the field's own rules on a parsed value.


def value_checks(field: models.Field, *, vendor: str) -> list[Converter]:
    """The checks for a non-NULL value of ``field`` (for a foreign key: its target's)."""
    target = field
    while target.is_relation:
        target = target.target_field
    kind = kind_of(target)
    checks: list[Converter] = []
    internal = target.get_internal_type()
    if kind is Kind.INTEGER and internal in INTEGER_RANGES:
        low, high = INTEGER_RANGES[internal]

        def in_range(value: int) -> int:
            if not low <= value <= high:
                raise BadValue(OUT_OF_RANGE.format(value=value, low=low, high=high))
            return value

        checks.append(in_range)
    if kind is Kind.DECIMAL:
        checks.append(_decimal_check(target))
    if kind is Kind.TEXT:
        checks.append(_text_check(target))
    if kind is Kind.JSON and not field.null:

        def not_json_null(value: Any) -> Any:
            # Django stores None as SQL NULL, never as JSON null.
            if value is None:
                raise BadValue(NOT_NULL)
            return value

        checks.append(not_json_null)
    if target.choices and not field.is_relation:
        ordered = [value for value, _label in target.flatchoices]
        choices = set(ordered)
        shown = ", ".join(str(c) for c in ordered)[:200]

        def is_choice(value: Any) -> Any:
            if value not in choices:
                raise BadValue(NOT_A_CHOICE.format(value=value, choices=shown))
            return value

        checks.append(is_choice)
    validators = [v for v in target.validators if not _is_handled(v, target)]
    if validators:

        def validate(value: Any) -> Any:
            if value in django_validators.EMPTY_VALUES:
                return value
            errors = []
            for validator in validators:
                try:
                    validator(value)
                except ValidationError as exc:
                    errors.extend(exc.messages)
            if errors:
                raise BadValue(" ".join(errors))
            return value

        checks.append(validate)
    return checks


def _is_handled(validator: Any, field: models.Field) -> bool:
    if isinstance(validator, _HANDLED_VALIDATORS):
        return True
    # Range validators Django adds from the connection: replaced by INTEGER_RANGES.
    if isinstance(
        validator, django_validators.MinValueValidator | django_validators.MaxValueValidator
    ):
        internal = field.get_internal_type()
        limits = INTEGER_RANGES.get(internal, ())
        return validator.limit_value in limits and validator not in field._validators
    return False


def _text_check(field: models.Field) -> Converter:
    max_length = field.max_length

    def check(value: str) -> str:
        if "\x00" in value:
            raise BadValue(NUL_CHARACTER)
        if max_length is not None and len(value) > max_length:
            raise BadValue(TOO_LONG.format(length=len(value), max_length=max_length))
        return value

    return check


def _decimal_check(field: models.Field) -> Converter:
    max_digits = field.max_digits
    places = field.decimal_places
    exponent = Decimal(1).scaleb(-places) if places is not None else None

    def check(value: Decimal) -> Decimal:
        if exponent is not None and value.as_tuple().exponent < -places:
            # Trailing zeros past the scale lose nothing; anything else would be rounded.
            try:
                rounded = value.quantize(exponent)
            except InvalidOperation:
                rounded = None
            if rounded is None or rounded != value:
                raise BadValue(TOO_MANY_PLACES.format(value=value, places=places))
            value = rounded
        if max_digits is not None:
            sign, digits, exp = value.as_tuple()
            if exp >= 0:
                total = len(digits) + exp if digits != (0,) else 1
                decimals = 0
            else:
                total = max(len(digits), -exp)
                decimals = -exp
            whole = total - decimals
            if places is not None and whole > max_digits - places:
                raise BadValue(
                    TOO_MANY_WHOLE_DIGITS.format(value=value, digits=max_digits - places)
                )
            if total > max_digits:
                raise BadValue(TOO_MANY_DIGITS.format(value=value, max_digits=max_digits))
        return value

    return check


# Converters: NULL rules, parse, checks.


def null_value(field: models.Field) -> Any:
    """What NULL in the file means for ``field``: None, or "" for a blank-able text field."""
    if field.null:
        return None
    target = field
    while target.is_relation:
        target = target.target_field
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
    target = field
    while target.is_relation:
        target = target.target_field
    return not target.empty_strings_allowed


def _text_converter(field: models.Field, *, vendor: str) -> Converter:
    parse = text_parser(field)
    checks = value_checks(field, vendor=vendor)
    null = null_value(field)
    blank_ok = field.blank or field.is_relation
    is_text = parse is None
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
    target = field
    while target.is_relation:
        target = target.target_field
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


class Binder:
    """Turns records into lists of typed values (one per plan target), or row errors.

    ``values`` is the reader's (:attr:`exports.formats.reading.Reader.values`): ``"text"``
    values are parsed from their canonical text forms, ``"json"`` values are checked as the
    JSON types they already are.
    """

    def __init__(
        self, plan: Plan, *, values: str, max_field: int, using: str, json_text: bool = False
    ) -> None:
        vendor = connections[using].vendor
        self.plan = plan
        self.max_field = max_field
        self.names = [t.name for t in plan.targets]
        self.indexes = [t.index for t in plan.targets]
        if values == "json":
            self.converters = [json_converter(t.value_field, vendor=vendor) for t in plan.targets]
        else:
            self.converters = [
                text_converter(t.value_field, vendor=vendor, json_text=json_text)
                for t in plan.targets
            ]
        self.columns = list(zip(self.indexes, self.names, self.converters, strict=True))
        # Every column of the file, in order.
        self.in_order = self.indexes == list(range(plan.width))

    def bind(self, record: Record) -> tuple[list[Any] | None, list[RowError]]:
        values = record.values
        if len(values) != self.plan.width:
            message = FIELD_COUNT.format(expected=self.plan.width, found=len(values))
            return None, [RowError(record.line, "", message)]
        long_row = len(record.raw) > self.max_field
        if not long_row:
            # The common case, a row that binds: one comprehension, no per-value try.
            try:
                if self.in_order:
                    return [
                        convert(v) for convert, v in zip(self.converters, values, strict=True)
                    ], []
                return [convert(values[index]) for index, _name, convert in self.columns], []
            except BadValue:
                pass  # bind it again below, value by value, to name every bad column
        out = []
        errors: list[RowError] = []
        for index, name, convert in self.columns:
            value = values[index]
            if long_row and isinstance(value, str) and len(value) > self.max_field:
                errors.append(
                    RowError(record.line, name, FIELD_TOO_LONG.format(limit=self.max_field))
                )
                continue
            try:
                out.append(convert(value))
            except BadValue as exc:
                errors.append(RowError(record.line, name, str(exc)))
        return (None, errors) if errors else (out, errors)
