"""Helpers shared by the export core's tests: engine parameters, tricky rows, joined output."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from exports.stream import prepare_export
from exportsite.shop.demo_data import TRICKY_NOTES
from exportsite.shop.models import Customer, Order

DATA = Path(__file__).parent / "data"

# Every concrete engine; copy needs PostgreSQL, so it only runs there.
ENGINES = [
    pytest.param("copy", marks=pytest.mark.postgres, id="copy"),
    pytest.param("cursor", id="cursor"),
    pytest.param("keyset", id="keyset"),
]
PYTHON_ENGINES = [pytest.param("cursor", id="cursor"), pytest.param("keyset", id="keyset")]
FORMATS = [pytest.param(name, id=name) for name in ("csv", "tsv", "jsonl")]

ORDER_FIELDS = [
    "id",
    "customer_id",
    "customer__email",
    "status",
    "total_cents",
    "currency",
    "discount",
    "is_gift",
    "created_at",
    "shipped_on",
    "note",
    "reference",
    "metadata",
]

# JSON values whose text differs between what Django writes and what jsonb prints: key order,
# nesting, non-ASCII, escapes, float text, empty containers.
TRICKY_METADATA = [
    {},
    {"channel": "web", "items": 3},
    {"zz": [1, 2.5, None, True, False], "a": {"bb": "x", "a": "y"}},
    {"text": 'quote " backslash \\ tab \t newline \n', "emoji": "🎁", "rtl": "עברית"},
    {"price": 0.1 + 0.2, "huge": 1e20, "big": 12345678901234567890, "neg": -0.5},
    [],
    {"empty": {}, "list": []},
]


def export_bytes(queryset=None, **options) -> bytes:
    """Prepare and run an export, joining its chunks."""
    if queryset is None:
        queryset = Order.objects.all()
    return b"".join(prepare_export(queryset=queryset, **options))


def create_tricky_orders() -> list[Order]:
    """One order per tricky note, with NULLs, JSON, decimals, dates and microsecond datetimes.

    Every exported value is explicit (ids included), so the output is the same on every
    backend and in every run, and can be compared with the files in ``tests/data``.
    """
    customers = [
        Customer.objects.create(
            id=1,
            email="zoë@example.com",
            name="Zoë O'Brien",
            country="DE",
            created_at=dt.datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        ),
        Customer.objects.create(
            id=2,
            email="=cmd@example.com",
            name="-Formula, Customer",
            country="IL",
            created_at=dt.datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        ),
    ]
    # A non-UTC offset: the canonical form is always UTC.
    cet = dt.timezone(dt.timedelta(hours=1))
    orders = []
    for index, note in enumerate(TRICKY_NOTES):
        orders.append(
            Order(
                id=index + 1,
                customer=customers[index % 2],
                status=Order.Status.values[index % 5],
                total_cents=(-1) ** index * (index * 1_000_003),
                currency=["EUR", "USD", "JPY"][index % 3],
                discount=[None, Decimal("0.00"), Decimal("12.30"), Decimal("-999.99")][index % 4],
                is_gift=index % 3 == 0,
                created_at=dt.datetime(
                    2024, 1 + index % 12, 1 + index, 13, 45, index, index * 37, tzinfo=cet
                ),
                shipped_on=None if index % 2 else dt.date(2024, 2, 1 + index),
                note=note,
                reference=uuid.UUID(int=index + 1, version=4),
                metadata=TRICKY_METADATA[index % len(TRICKY_METADATA)],
            )
        )
    Order.objects.bulk_create(orders)
    return orders
