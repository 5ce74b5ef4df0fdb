"""Files with every field quoted: ``""`` is NULL for the types that have no empty value.

Python's ``csv.QUOTE_ALL`` (as pandas, spreadsheets and ETL tools write) spells each missing
value ``""``. For numbers, dates, times, booleans, UUIDs and JSON that is NULL; for text it
stays the empty string, as the dialect says; for binary it is ``b""``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest

from exports.imports import errors as E
from exports.imports import import_file
from exports.stream import prepare_export
from exportsite.shapes.models import Reading
from exportsite.shop.models import Order
from tests.factories import CustomerFactory

from .conftest import read_rejects, snapshot

pytestmark = pytest.mark.django_db

NULLABLE = ["amount", "score", "big", "flag", "day", "at", "clock", "took", "ref", "data"]
READING_COLUMNS = ["code", "quantity", *NULLABLE, "blob", "label", "note"]
ORDER_COLUMNS = ["customer_id", "total_cents", "created_at", "discount", "shipped_on", "note"]
ORDER_COLUMNS += ["reference", "status"]


def quote_all(path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def run(path, tmp_path, model, **kwargs):
    return import_file(
        model=model, source=path, errors_path=tmp_path / "r.csv", keep_errors=5, **kwargs
    )


def readings(code_prefix: str = "R") -> list[list]:
    """Two rows: every nullable column missing (None, written as ""), then every one set."""
    empty = [f"{code_prefix}1", 1, *[None] * len(NULLABLE), "", "", ""]
    full = [
        f"{code_prefix}2",
        2,
        "1.50",
        "0.25",
        "9007199254740993",
        "true",
        "2024-01-31",
        "2024-01-31T13:45:00.000000+00:00",
        "13:45:00",
        "P1DT02H03M04S",
        "0b0cbe5a-4f9d-4c1a-9b61-2b0f4c8e0d11",
        '{"a": 1}',
        "aGVsbG8=",
        "x",
        "y",
    ]
    return [empty, full]


def reading_values(code: str) -> tuple:
    row = Reading.objects.get(code=code)
    return (
        *(getattr(row, name) for name in NULLABLE),
        bytes(row.blob) if row.blob is not None else None,
        row.label,
        row.note,
    )


EMPTY = (*[None] * len(NULLABLE), b"", "", "")
FULL = (
    Decimal("1.50"),
    0.25,
    9007199254740993,
    True,
    dt.date(2024, 1, 31),
    dt.datetime(2024, 1, 31, 13, 45, tzinfo=dt.UTC),
    dt.time(13, 45),
    dt.timedelta(days=1, hours=2, minutes=3, seconds=4),
    uuid.UUID("0b0cbe5a-4f9d-4c1a-9b61-2b0f4c8e0d11"),
    {"a": 1},
    b"hello",
    "x",
    "y",
)


@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_quoted_empties_are_null_for_types_without_an_empty_value(tmp_path, mode):
    path = tmp_path / "q.csv"
    quote_all(path, READING_COLUMNS, readings())
    if mode == "upsert":  # one row to update, one to create
        Reading.objects.create(code="R1", quantity=0, amount=Decimal("9"), label="old")
    result = run(path, tmp_path, Reading, mode=mode, key=["code"] if mode == "upsert" else None)
    assert result.complete, result.first_errors
    assert (result.created, result.updated) == ((2, 0) if mode == "create" else (1, 1))
    assert reading_values("R1") == EMPTY
    assert reading_values("R2") == FULL


@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_quote_all_orders(tmp_path, mode):
    """Order has no database default: on PostgreSQL, create streams COPY and upsert copies."""
    customer = CustomerFactory()
    ref = uuid.UUID(int=1, version=4)
    path = tmp_path / "o.csv"
    rows = [
        [customer.pk, 100, "2024-01-01T00:00:00+00:00", None, None, "", ref, "paid"],
        [customer.pk, 200, "2024-01-02T00:00:00+00:00", "1.25", "2024-01-03", "n", None, "paid"],
    ]
    rows[1][6] = uuid.UUID(int=2, version=4)
    quote_all(path, ORDER_COLUMNS, rows)
    result = run(path, tmp_path, Order, mode=mode, key=["reference"] if mode == "upsert" else None)
    assert result.complete, result.first_errors
    got = list(Order.objects.order_by("total_cents").values_list("discount", "shipped_on", "note"))
    assert got == [(None, None, ""), (Decimal("1.25"), dt.date(2024, 1, 3), "n")]


def test_quoted_empty_in_a_required_number_is_a_required_error(tmp_path):
    path = tmp_path / "q.csv"
    quote_all(path, ["code", "quantity"], [["A", ""], ["B", None], ["C", "3"]])
    result = run(path, tmp_path, Reading)
    assert (result.rejected, result.committed, Reading.objects.exists()) == (2, False, False)
    assert [(r["line"], r["column"], r["message"]) for r in read_rejects(tmp_path / "r.csv")] == [
        ("2", "quantity", E.NOT_NULL),
        ("3", "quantity", E.NOT_NULL),
    ]


def test_quoted_empty_text_stays_the_empty_string_and_unquoted_is_null(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('code,quantity,label\nA,1,""\nB,2,\n', encoding="utf-8")
    assert run(path, tmp_path, Reading).complete
    assert dict(Reading.objects.values_list("code", "label")) == {"A": "", "B": None}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_round_trip_with_nulls_and_empty_strings_is_byte_identical(tmp_path, fmt):
    Reading.objects.create(code="P", quantity=1)
    Reading.objects.create(code="E", quantity=2, label="", note="", blob=b"")
    Reading.objects.create(code="N", quantity=3, label=None, data={"k": [None, ""]}, big=-1)
    fields = [f.attname for f in Reading._meta.concrete_fields if not f.generated]

    def export() -> bytes:
        qs = Reading.objects.order_by("pk")
        return b"".join(prepare_export(queryset=qs, fields=fields, format=fmt))

    before, first = snapshot(Reading), export()
    Reading.objects.all().delete()
    result = import_file(
        model=Reading,
        source=io.BytesIO(first),
        format=fmt,
        errors_path=tmp_path / "r.csv",
        keep_errors=3,
    )
    assert result.complete and result.created == 3, (result.first_errors, result.stopped)
    assert export() == first
    assert [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in before] == [
        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
        for row in snapshot(Reading)
    ]
