"""Filters given as text, typed by their field (exports/filters.py and exports/parsing.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db.models import Q

from exports.errors import ExportError
from exports.filters import build_q, parse_filter, split_filter
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
        ("discount", "NaN", 'Bad filter "discount=NaN": "NaN" is not a decimal number.'),
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
