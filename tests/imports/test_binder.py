"""The binder's shortcuts give exactly what the plain path gives: values and messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from exports.imports import errors as E
from exports.imports.converters import _reject_constant, _text_converter, text_converter
from exports.imports.rules import BadValue
from exportsite.shop.models import Order

PLAIN = json.JSONDecoder(parse_constant=_reject_constant).decode


def plain(text: str):
    """What the converter must answer: json's own decode, or its error as the message.

    An empty field is NULL for JSON, which has no empty value (quoted or not: files written
    with every field quoted spell a missing value ""); metadata cannot be NULL.
    """
    if text == "":
        return "error", E.NOT_NULL
    try:
        return "ok", PLAIN(text)
    except ValueError as exc:
        return "error", f"not valid JSON: {exc}"


def converted(text: str):
    convert = text_converter(Order._meta.get_field("metadata"), vendor="sqlite")
    try:
        return "ok", convert(text)
    except BadValue as exc:
        return "error", str(exc)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        ' {"a": 1}',
        '{"a": 1} ',
        '{"a": 1}x',
        '{"a": 1',
        "NaN",
        "[1, -Infinity]",
        "",
        " ",
        '"x"',
        "1e400",
        '{"a": "\\ud800"}',
    ],
)
def test_json_values_and_messages(text):
    assert converted(text) == plain(text)


@settings(max_examples=1000)
@given(st.text(alphabet=' {}[]":,0123456789.eE-+aNIfinty\\u', max_size=16))
def test_json_agrees_with_json_decode(text):
    assume("\\u0000" not in text)  # a NUL is refused on purpose: tested with the robustness cases
    assert converted(text) == plain(text)


def outcome(convert, text):
    try:
        value = convert(text)
    except BadValue as exc:
        return "error", str(exc)
    return "ok", value, str(value)  # str: Decimal("1.50") == Decimal("1.5"), but not as text


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789.-+eE ", max_size=9))
def test_plain_decimals_shortcut_agrees_with_the_checks(text):
    field = Order._meta.get_field("discount")  # max_digits=5, decimal_places=2
    checked = _text_converter(field, vendor="sqlite")
    assert outcome(text_converter(field, vendor="sqlite"), text) == outcome(checked, text)


def test_raw_key_lookups_only_for_djangos_own_fields():
    """A field subclass may prepare lookup values itself: its lookups go through the ORM."""
    from django.db import models

    from exports.imports.integrity import _native
    from exportsite.shop.models import Customer

    class LowerEmailField(models.EmailField):
        def get_prep_value(self, value):
            return super().get_prep_value(value).lower()

    assert _native(Customer._meta.get_field("email"))
    assert _native(Order._meta.get_field("customer"))  # its target, the AutoField
    assert not _native(LowerEmailField())
