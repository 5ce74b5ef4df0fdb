"""Export -> import into an empty table reproduces every row and value, on every backend."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.imports import import_file
from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order

from .conftest import snapshot

pytestmark = pytest.mark.django_db

FORMATS = ["csv", "tsv", "jsonl"]


def export_bytes(model, fmt: str) -> bytes:
    return b"".join(prepare_export(queryset=model.objects.all(), format=fmt))


def round_trip(fmt: str, tmp_path) -> None:
    """Export both tables, empty them, import the files back, and compare."""
    before = {m: snapshot(m) for m in (Customer, Order)}
    files = {m: export_bytes(m, fmt) for m in (Customer, Order)}
    Order.objects.all().delete()
    Customer.objects.all().delete()
    for model in (Customer, Order):
        result = import_file(
            model=model,
            source=io.BytesIO(files[model]),
            format=fmt,
            errors_path=tmp_path / f"{model._meta.model_name}.rejects.csv",
            keep_errors=5,
        )
        assert result.complete, (result.stopped, result.first_errors)
        assert result.created == len(before[model])
    for model in (Customer, Order):
        assert snapshot(model) == before[model]
        assert export_bytes(model, fmt) == files[model]


TRICKY_TEXT = [
    "",
    " ",
    "plain",
    'say "hi"',
    "a,b;c\td",
    "line\nbreak",
    "cr\ronly",
    "crlf\r\nend",
    "\r\n",
    '"',
    '""',
    "=1+2",
    "\\N",
    "\\.",
    "NA",
    "héllo wörld ✓ 日本語 🎉",
    "\u2028\u2029\x85\x0b\x0c",
    "trailing space ",
    '"\n',
    '""\r\n"',
]


@pytest.fixture
def tricky_rows():
    customers = [
        Customer(
            email=f"c{i}@example.com",
            name=text or "x",
            country="DE",
            created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=i),
        )
        for i, text in enumerate(TRICKY_TEXT)
    ]
    Customer.objects.bulk_create(customers)
    customers = list(Customer.objects.all())
    extremes = [
        (Decimal("-999.99"), dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.date(1, 1, 1), -(2**63)),
        (
            Decimal("999.99"),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
            dt.date(9999, 12, 31),
            2**63 - 1,
        ),
        (None, dt.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=dt.UTC), None, 0),
        (Decimal("0.00"), dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.date(2000, 2, 29), -1),
    ]
    orders = []
    for i, text in enumerate(TRICKY_TEXT):
        discount, created, shipped, total = extremes[i % len(extremes)]
        orders.append(
            Order(
                customer=customers[i],
                status=Order.Status.values[i % 5],
                total_cents=total,
                currency=(text or "x")[:3],
                discount=discount,
                is_gift=bool(i % 2),
                created_at=created,
                shipped_on=shipped,
                note=text,
                reference=uuid.UUID(int=i + 1),
                metadata={"text": text, "n": i, "nested": [None, True, 2.5, {"k": text}]},
            )
        )
    Order.objects.bulk_create(orders)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_tricky_values(fmt, tricky_rows, tmp_path):
    round_trip(fmt, tmp_path)


def test_round_trip_with_customer_email_lookup(tricky_rows, tmp_path):
    """The admin's export (customer__email beside customer_id) re-imports as is."""
    before = snapshot(Order)
    data = b"".join(
        prepare_export(
            queryset=Order.objects.all(),
            fields=[f.attname for f in Order._meta.concrete_fields] + ["customer__email"],
        )
    )
    Order.objects.all().delete()
    result = import_file(model=Order, source=io.BytesIO(data), errors_path=tmp_path / "r.csv")
    assert result.complete and snapshot(Order) == before


# Property: any valid values survive the trip.

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(-1e15, 1e15, allow_nan=False).filter(lambda f: f == 0 or abs(f) > 1e-6)
    | text
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
aware = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
order_values = st.fixed_dictionaries(
    {
        "status": st.sampled_from(Order.Status.values),
        "total_cents": st.integers(-(2**63), 2**63 - 1),
        "currency": text.filter(lambda t: 0 < len(t) <= 3),
        "discount": st.none() | st.decimals(Decimal("-999.99"), Decimal("999.99"), places=2),
        "is_gift": st.booleans(),
        "created_at": aware,
        "shipped_on": st.none() | st.dates(),
        "note": text,
        "metadata": st.dictionaries(text, json_value, max_size=4),
    }
)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=st.lists(
        text.filter(lambda t: t.strip() != "" and len(t) <= 200), min_size=1, max_size=4
    ),
    orders=st.lists(order_values, max_size=6),
)
def test_round_trip_property(fmt, names, orders, tmp_path):
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            Customer(
                email=f"p{i}@example.com",
                name=name,
                country="FR",
                created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            )
            for i, name in enumerate(names)
        )
        customers = list(Customer.objects.all())
        Order.objects.bulk_create(
            Order(customer=customers[i % len(customers)], reference=uuid.UUID(int=i + 1), **values)
            for i, values in enumerate(orders)
        )
        round_trip(fmt, tmp_path)
        transaction.set_rollback(True)


@pytest.mark.parametrize("on_error", ["abort", "skip"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_upsert_restores_every_value(fmt, on_error, tricky_rows, tmp_path):
    """Upsert by reference over changed and deleted rows brings back every value exactly."""
    before = snapshot(Order)
    data = export_bytes(Order, fmt)
    Order.objects.filter(pk__in=[row[0] for row in before[::3]]).delete()
    Order.objects.update(
        note="changed", metadata={"changed": True}, discount=None, shipped_on=dt.date(2000, 1, 1)
    )
    result = import_file(
        model=Order,
        source=io.BytesIO(data),
        format=fmt,
        mode="upsert",
        key=["reference"],
        errors_path=tmp_path / "rejects.csv",
        chunk_size=7,
        on_error=on_error,
    )
    assert result.complete, (result.stopped, result.first_errors)
    deleted = len(before[::3])
    assert (result.created, result.updated) == (deleted, len(before) - deleted)
    assert snapshot(Order) == before
