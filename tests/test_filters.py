"""Filters given as text, typed by their field (exports/filters.py and exports/parsing.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection, models
from django.db.models import Q

from exports.errors import ExportError
from exports.filters import build_q, filter_value, parse_filter, split_filter
from exports.parsing import ParseError
from exportsite.shop.models import Order
from tests.factories import CustomerFactory, OrderFactory

LOOKUP_CHOICES = (
    "contains, endswith, exact, gt, gte, icontains, iendswith, iexact, in, isnull, "
    "istartswith, lt, lte, range, startswith"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status=paid", ("status", "paid")),
        (" status =paid", ("status", "paid")),
        ("note=a=b", ("note", "a=b")),
        ("note=", ("note", "")),
    ],
)
def test_split_filter(text, expected):
    assert split_filter(text) == expected


@pytest.mark.parametrize("text", ["status", "=paid", " =x", ""])
def test_split_filter_syntax_error(text):
    with pytest.raises(ExportError) as excinfo:
        split_filter(text)

    assert excinfo.value.args == (
        f'Bad filter "{text}": write LOOKUP=VALUE, for example status=paid.',
    )


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("status", "paid", "paid"),
        ("id", " 42 ", 42),
        ("total_cents__gte", "-5", -5),
        ("discount__lt", "1.50", Decimal("1.50")),
        ("is_gift", "yes", True),
        ("is_gift", "FALSE", False),
        ("shipped_on__gte", "2024-01-31", dt.date(2024, 1, 31)),
        ("created_at__gte", "2024-01-31", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        (
            "created_at__lt",
            "2024-01-31T13:45:00+01:00",
            dt.datetime(2024, 1, 31, 12, 45, tzinfo=dt.UTC),
        ),
        ("reference", "00000000-0000-4000-8000-000000000001", uuid.UUID(int=1, version=4)),
        ("customer__email__iendswith", "@EXAMPLE.com", "@EXAMPLE.com"),
        ("total_cents__contains", "12", "12"),
        ("customer_id", "7", 7),
        ("customer", "7", 7),
        ("shipped_on__isnull", "true", True),
        ("customer__country__in", "DE,FR", ["DE", "FR"]),
        ("id__in", "1,2,3", [1, 2, 3]),
        ("total_cents__range", "100,500", (100, 500)),
    ],
)
def test_values_are_typed_by_their_field(lookup, value, expected):
    key, typed = parse_filter(Order, lookup, value)

    assert (key, typed) == (lookup, expected)
    assert type(typed) is type(expected)


@pytest.mark.parametrize(
    ("lookup", "value", "message"),
    [
        ("id", "abc", 'Bad filter "id=abc": "abc" is not an integer.'),
        ("id__in", "1,x", 'Bad filter "id__in=1,x": "x" is not an integer.'),
        ("discount", "1,5", 'Bad filter "discount=1,5": "1,5" is not a decimal number.'),
        ("discount", "NaN", 'Bad filter "discount=NaN": "NaN" is not a finite number.'),
        (
            "is_gift",
            "maybe",
            'Bad filter "is_gift=maybe": "maybe" is not a boolean (true or false).',
        ),
        (
            "shipped_on",
            "31/01/2024",
            'Bad filter "shipped_on=31/01/2024": "31/01/2024" is not a date (YYYY-MM-DD).',
        ),
        (
            "created_at__gte",
            "yesterday",
            'Bad filter "created_at__gte=yesterday": "yesterday" is not a date and time '
            "(YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]).",
        ),
        ("reference", "xyz", 'Bad filter "reference=xyz": "xyz" is not a UUID.'),
        (
            "shipped_on__isnull",
            "perhaps",
            'Bad filter "shipped_on__isnull=perhaps": "perhaps" is not a boolean (true or false).',
        ),
        (
            "total_cents__range",
            "1,2,3",
            'Bad filter "total_cents__range=1,2,3": a range needs two values separated by a comma.',
        ),
        (
            "total_cents__range",
            "1,x",
            'Bad filter "total_cents__range=1,x": "x" is not an integer.',
        ),
        (
            "nope",
            "1",
            'Bad filter "nope=1": Unknown field "nope" on shop.Order (in field path "nope").',
        ),
        (
            "customer__nope__gt",
            "1",
            'Bad filter "customer__nope__gt=1": Unknown field "nope" on shop.Customer '
            '(in field path "customer__nope").',
        ),
        (
            "created_at__year",
            "2024",
            'Bad filter "created_at__year=2024": unknown lookup "year"; '
            f"use one of: {LOOKUP_CHOICES}.",
        ),
        (
            "status__regex",
            ".*",
            f'Bad filter "status__regex=.*": unknown lookup "regex"; use one of: {LOOKUP_CHOICES}.',
        ),
        (
            "customer__orders__status",
            "paid",
            'Bad filter "customer__orders__status=paid": Field path "customer__orders__status" '
            'goes through "orders" on shop.Customer, which holds many rows per row; only forward '
            "foreign keys and one-to-one relations can be followed.",
        ),
    ],
)
def test_bad_filters(lookup, value, message):
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, lookup, value)

    assert excinfo.value.args == (message,)


def test_build_q_ands_the_filters():
    q = build_q(Order, [("status", "paid"), ("total_cents__gte", "100")])

    assert q == Q(status="paid") & Q(total_cents__gte=100)


def test_build_q_of_nothing_is_everything():
    assert build_q(Order, []) == Q()


@pytest.mark.django_db
def test_filters_select_the_rows():
    de = CustomerFactory(country="DE")
    fr = CustomerFactory(country="FR")
    OrderFactory(id=1, customer=de, status="paid", is_gift=True, total_cents=100)
    OrderFactory(id=2, customer=fr, status="paid", is_gift=False, total_cents=200)
    OrderFactory(id=3, customer=de, status="shipped", is_gift=True, total_cents=300)

    q = build_q(
        Order,
        [("customer__country__in", "DE"), ("is_gift", "true"), ("total_cents__range", "50,250")],
    )

    assert list(Order.objects.filter(q).values_list("id", flat=True)) == [1]


def test_naive_datetimes_are_read_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"

    _, typed = parse_filter(Order, "created_at__gte", "2024-07-01T12:00")

    assert typed == dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.UTC)


# Values that parse but that the column cannot hold or compare (checked before any query) ---


def test_integers_beyond_the_column_are_refused_in_lists_too():
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "total_cents__in", "1,99999999999999999999999")

    assert excinfo.value.args == (
        'Bad filter "total_cents__in=1,99999999999999999999999": "99999999999999999999999" is '
        "out of range for this field (-9223372036854775808 to 9223372036854775807).",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+14:00"),
        ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"),
    ],
)
def test_datetimes_that_overflow_in_utc_are_refused(value, shown):
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "created_at__gte", value)

    assert excinfo.value.args == (
        f'Bad filter "created_at__gte={shown}": "{shown}" is out of range once converted to UTC.',
    )


def test_naive_datetimes_that_overflow_in_the_current_time_zone_are_refused(settings):
    settings.TIME_ZONE = "America/New_York"

    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "created_at__lt", "9999-12-31T23:00")

    assert excinfo.value.args == (
        'Bad filter "created_at__lt=9999-12-31T23:00": "9999-12-31T23:00" is out of range once '
        "converted to UTC.",
    )


@pytest.mark.parametrize(
    ("lookup", "value", "shown"),
    [
        ("note", "a\x00b", "a\\x00b"),
        ("note__contains", "\x00", "\\x00"),
        ("status__in", "paid,\x00", "paid,\\x00"),
        ("id", "1\x00", "1\\x00"),
        ("shipped_on__isnull", "\x00", "\\x00"),
    ],
)
def test_nul_characters_are_refused_in_every_value(lookup, value, shown):
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, lookup, value)

    assert excinfo.value.args == (
        f'Bad filter "{lookup}={shown}": the value contains a NUL character (\\x00), which '
        "the database cannot store or compare.",
    )


def test_lone_surrogates_are_refused():
    # What an undecodable byte on a command line becomes (surrogateescape).
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "note", "caf\udce9")

    assert excinfo.value.args == (
        'Bad filter "note=caf\\udce9": the value is not valid Unicode text.',
    )


def test_in_lists_are_capped():
    value = ",".join(["1"] * 1001)

    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "id__in", value)

    message = excinfo.value.args[0]
    assert message.endswith('…": a list takes at most 1000 values.')
    assert parse_filter(Order, "id__in", ",".join(["1"] * 1000))[1] == [1] * 1000


@pytest.mark.parametrize(
    ("lookup", "value", "message"),
    [
        (
            "discount__lt",
            "1000",
            '"1000" does not fit this field (at most 3 digits before the decimal point and 2 '
            "after)",
        ),
        (
            "discount",
            "1.234",
            '"1.234" does not fit this field (at most 3 digits before the decimal point and 2 '
            "after)",
        ),
        (
            "discount",
            "1E+999999",
            '"1E+999999" does not fit this field (at most 3 digits before the decimal point and '
            "2 after)",
        ),
        ("metadata", "{", '"{" is not JSON'),
        ("metadata", "NaN", '"NaN" is not JSON'),
        (
            "metadata",
            '{"a": "\\u0000"}',
            '"{"a": "\\u0000"}" holds a NUL character (\\x00), which the database cannot store '
            "or compare",
        ),
    ],
)
def test_values_the_column_cannot_hold(lookup, value, message):
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, lookup, value)

    assert excinfo.value.args == (f'Bad filter "{lookup}={value}": {message}.',)


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("discount__lt", "999.99", Decimal("999.99")),
        ("discount", "-1.500", Decimal("-1.500")),
        ("discount", "0E+5", Decimal("0E+5")),
        ("total_cents__gte", "-9223372036854775808", -(2**63)),
        ("created_at__gte", "0001-01-01T00:00:00+00:00", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
        ("metadata", '{"a": [1, "x"]}', {"a": [1, "x"]}),
        ("metadata", "null", None),
    ],
)
def test_values_at_the_edges_are_accepted(lookup, value, expected):
    assert parse_filter(Order, lookup, value) == (lookup, expected)


def test_json_fields_take_only_exact_and_isnull():
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "metadata__contains", "x")

    assert excinfo.value.args == (
        'Bad filter "metadata__contains=x": a JSON field takes only the lookups exact and isnull.',
    )


INTEGER_RANGES = {
    # field class: (SQLite, PostgreSQL)
    models.SmallIntegerField: ((-(2**63), 2**63 - 1), (-32768, 32767)),
    models.IntegerField: ((-(2**63), 2**63 - 1), (-(2**31), 2**31 - 1)),
    models.BigIntegerField: ((-(2**63), 2**63 - 1), (-(2**63), 2**63 - 1)),
    models.PositiveSmallIntegerField: ((0, 2**63 - 1), (0, 32767)),
    models.PositiveIntegerField: ((0, 2**63 - 1), (0, 2**31 - 1)),
    models.PositiveBigIntegerField: ((0, 2**63 - 1), (0, 2**63 - 1)),
}


@pytest.mark.parametrize("field_class", INTEGER_RANGES, ids=lambda cls: cls.__name__)
def test_integer_ranges_follow_the_field_type_and_the_database(field_class):
    field = field_class()
    low, high = INTEGER_RANGES[field_class][connection.vendor == "postgresql"]

    assert filter_value(field, "exact", str(low), connection=connection) == low
    assert filter_value(field, "exact", str(high), connection=connection) == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ParseError) as excinfo:
            filter_value(field, "exact", str(bad), connection=connection)
        assert str(excinfo.value) == (f'"{bad}" is out of range for this field ({low} to {high})')


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e400"])
def test_floats_must_be_finite(text):
    with pytest.raises(ParseError) as excinfo:
        filter_value(models.FloatField(), "lt", text, connection=connection)

    assert str(excinfo.value) == f'"{text}" is not a finite number'


def test_times_with_an_offset_are_refused():
    with pytest.raises(ParseError) as excinfo:
        filter_value(models.TimeField(), "exact", "12:00+02:00", connection=connection)

    assert str(excinfo.value) == '"12:00+02:00" has a UTC offset; times are stored without one'


def test_durations_beyond_64_bit_microseconds_are_refused():
    field = models.DurationField()
    assert filter_value(field, "gt", "P106751991D", connection=connection) == dt.timedelta(
        106751991
    )

    with pytest.raises(ParseError) as excinfo:
        filter_value(field, "gt", "P106751992D", connection=connection)

    assert (
        str(excinfo.value)
        == '"P106751992D" is out of range for a duration (within ±106751991 days)'
    )


def test_datetimes_without_time_zones(settings):
    settings.USE_TZ = False

    _, typed = parse_filter(Order, "created_at__gte", "2024-01-31T13:45:00+01:00")
    assert typed == dt.datetime(2024, 1, 31, 12, 45)
    with pytest.raises(ExportError) as excinfo:
        parse_filter(Order, "created_at__gte", "0001-01-01T00:00:00+14:00")
    assert excinfo.value.args == (
        'Bad filter "created_at__gte=0001-01-01T00:00:00+14:00": "0001-01-01T00:00:00+14:00" is '
        "out of range once converted to UTC.",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("total_cents__in", "1,9223372036854775807,-9223372036854775808", []),
        ("total_cents__lt", "9223372036854775807", [1, 2, 3]),
        ("created_at__gte", "0001-01-01T00:00:00+00:00", [1, 2, 3]),
        ("created_at__lt", "9999-12-31T23:59:59.999999+00:00", [1, 2, 3]),
        ("discount__lt", "999.99", [1, 3]),
        ("discount__gt", "-999.99", [1, 3]),
        ("shipped_on__lt", "9999-12-31", []),
        ("note__contains", "é", []),
    ],
)
def test_accepted_edge_values_run_as_queries(orders, lookup, value, expected):
    """What the checks let through, the database compares (on SQLite and PostgreSQL)."""
    q = build_q(Order, [(lookup, value)])

    assert list(Order.objects.filter(q).values_list("id", flat=True)) == expected
