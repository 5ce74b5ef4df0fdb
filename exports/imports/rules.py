"""The field's own rules on a parsed value: integer ranges, digits, length, choices, validators.

:func:`value_checks` builds, once per column, the checks a non-NULL value of a model field
must pass. The checks the databases disagree on (NUL characters, over-long text, extra decimal
places, out-of-range integers) are made here, so SQLite and PostgreSQL give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from ..kinds import Kind, ParseError, kind_of
from .errors import (
    NOT_A_CHOICE,
    NOT_NULL,
    NUL_CHARACTER,
    OUT_OF_RANGE,
    TOO_LONG,
    TOO_MANY_DIGITS,
    TOO_MANY_PLACES,
    TOO_MANY_WHOLE_DIGITS,
)
from .plan import value_target

# The same integer ranges on every backend (SQLite's own are wider): see the module docstring.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
_HANDLED_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.DecimalValidator,
)

# A value that does not bind; ``str()`` is the message for the reject file. The same class as
# the shared parsers' error (exports.kinds), so a parser's refusal needs no translation.
BadValue = ParseError
Converter = Callable[[Any], Any]


def value_checks(field: models.Field, *, vendor: str) -> list[Converter]:
    """The checks for a non-NULL value of ``field`` (for a foreign key: its target's)."""
    target = value_target(field)
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
        own = cast(Any, field)._validators  # the field's own, not the connection's
        return validator.limit_value in limits and validator not in own
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
    decimal = cast(models.DecimalField, field)
    max_digits = decimal.max_digits
    places = decimal.decimal_places
    exponent = Decimal(1).scaleb(-places) if places is not None else None

    def check(value: Decimal) -> Decimal:
        if exponent is not None and cast(int, value.as_tuple().exponent) < -places:
            # Trailing zeros past the scale lose nothing; anything else would be rounded.
            try:
                rounded = value.quantize(exponent)
            except InvalidOperation:
                rounded = None
            if rounded is None or rounded != value:
                raise BadValue(TOO_MANY_PLACES.format(value=value, places=places))
            value = rounded
        if max_digits is not None:
            sign, digits, finite_exp = value.as_tuple()
            exp = cast(int, finite_exp)  # finite: the parsers refuse NaN and infinities
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
