"""exports.parsing.parse_value: the text people type for a filter, as a value of the field."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from exports import kinds, parsing
from exports.parsing import ParseError, parse_value
from exportsite.shop.models import Customer, Order

FIELDS = {f.name: f for f in (*Order._meta.concrete_fields, *Customer._meta.concrete_fields)}


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("total_cents", "-12", -12),
        ("is_gift", "Yes", True),
        ("is_gift", "off", False),
        ("discount", "12.50", Decimal("12.50")),
        ("shipped_on", "2024-02-29", dt.date(2024, 2, 29)),
        (
            "reference",
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ),
        ("status", "paid", "paid"),  # text goes through to_python: as it is
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_values_by_kind(field, text, value):
    assert parse_value(FIELDS[field], text) == value


def test_datetimes_keep_their_offset():
    value = parse_value(FIELDS["created_at"], "2024-01-31T13:45:00+02:00")
    assert value == dt.datetime(2024, 1, 31, 11, 45, tzinfo=dt.UTC)
    assert value.utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("total_cents", "12,5", '"12,5" is not an integer'),
        ("is_gift", "maybe", '"maybe" is not a boolean (true or false)'),
        ("discount", "NaN", '"NaN" is not a finite number'),
    ],
)
def test_bad_text_says_what_was_expected(field, text, message):
    with pytest.raises(ParseError) as exc:
        parse_value(FIELDS[field], text)
    assert str(exc.value) == message


def test_a_field_without_a_parser_speaks_through_to_python():
    with pytest.raises(ParseError) as exc:
        parse_value(FIELDS["reference"], "not-a-uuid")
    assert str(exc.value).startswith('"not-a-uuid"')


def test_the_old_import_paths_give_the_kinds_own_objects():
    for name in ("ParseError", "KINDS", "KIND_NAMES", "parse_bool", "parse_datetime"):
        assert getattr(parsing, name) is getattr(kinds, name)
