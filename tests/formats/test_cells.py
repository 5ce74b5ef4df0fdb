"""Cells the database prints for the cursor and keyset engines (exports.formats.cells).

The engine tests compare every engine with the Python formatters over every kind; these check
that the database does print the cells (the fast path is not silently off) and that a value
stored in another form than Django's falls back to Python, on SQLite, where that can happen.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from exports.columns import resolve_columns
from exports.expressions import Joined, StoredValues
from exports.formats import get_writer_class
from exports.stream import prepare_export
from exportsite.shop.models import Order
from tests.exporting import PYTHON_ENGINES

ON_SQLITE = pytest.mark.sqlite  # SQLite keeps any text
DEMO_FIELDS = ["id", "customer__email", "status", "total_cents", "created_at", "note"]


def selected(fields, fmt="csv", **options):
    writer = get_writer_class(fmt)(
        resolve_columns(Order, fields), vendor=connection.vendor, **options
    )
    return writer.select(connection)


def test_the_demo_columns_come_back_as_one_line_per_row():
    exprs = selected(DEMO_FIELDS)

    # On SQLite, with the stored values of the row where a check fails (else NULL).
    assert [type(e) for e in exprs] == [Joined] + [StoredValues] * (connection.vendor == "sqlite")


def test_python_formats_floats_json_and_formula_neutralised_text():
    exprs = selected(["id", "metadata", "note"], escape_formulas=True)

    assert [type(e) is Joined for e in exprs] == [True, False, False]


def test_server_text_off_selects_the_values():
    with override_settings(EXPORTS={"SERVER_TEXT": False}):
        exprs = selected(DEMO_FIELDS)

    assert not any(isinstance(e, Joined) for e in exprs)
    assert len(exprs) == len(DEMO_FIELDS)


def test_json_lines_are_formatted_in_python():
    assert not any(isinstance(e, Joined) for e in selected(DEMO_FIELDS, fmt="jsonl"))


# Odd stored forms (SQLite keeps whatever text it is given) ------------------------------------

ODD_VALUES = [
    # column, stored text or number, the value Django reads from it
    ("created_at", "2024-01-31T13:45:00+02:00", None),
    ("created_at", "2024-01-31 13:45:00.5", None),
    ("created_at", "2024-01-31 13:45", None),
    ("shipped_on", "2024-1-5", None),
    ("reference", "B39CFD4B-8ABE-4D78-8520-10116895CEA8", None),
    ("reference", "b39cfd4b8abe4d78852010116895cea8", None),
]


@ON_SQLITE
@pytest.mark.django_db
@pytest.mark.parametrize("engine", PYTHON_ENGINES)
@pytest.mark.parametrize(("column", "stored", "_"), ODD_VALUES)
def test_a_value_stored_in_another_form_is_printed_as_python_prints_it(engine, column, stored, _):
    from tests.factories import OrderFactory

    orders = OrderFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE shop_order SET {column} = %s WHERE id = %s", [stored, orders[1].pk])
    fields = ["id", column, "note"]

    def export(server_text: bool) -> bytes:
        with override_settings(EXPORTS={"SERVER_TEXT": server_text}):
            export = prepare_export(queryset=Order.objects.all(), fields=fields, engine=engine)
            return b"".join(export)

    python = export(False)
    assert export(True) == python
    line = python.decode().splitlines()[2]
    expected = {
        "created_at": "2024-01-31T11:45:00.000000+00:00"
        if "+02:00" in stored
        else "2024-01-31T13:45:00.500000+00:00"
        if ".5" in stored
        else "2024-01-31T13:45:00.000000+00:00",
        "shipped_on": "2024-01-05",
        "reference": str(uuid.UUID("b39cfd4b8abe4d78852010116895cea8")),
    }[column]
    assert line.split(",")[1] == expected


@ON_SQLITE
@pytest.mark.django_db
def test_a_duration_stored_as_a_float_falls_back_to_python():
    from exportsite.shapes.models import Reading

    Reading.objects.create(code="a", quantity=1, took=dt.timedelta(seconds=1))
    Reading.objects.create(code="b", quantity=1, took=dt.timedelta(seconds=2))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shapes_reading SET took = 1500000.0 WHERE code = 'b'")

    data = b"".join(prepare_export(queryset=Reading.objects.all(), fields=["code", "took"]))

    assert data == b"code,took\na,P0DT00H00M01S\nb,P0DT00H00M01.500000S\n"


@pytest.mark.django_db
@pytest.mark.parametrize("engine", PYTHON_ENGINES)
@pytest.mark.parametrize("delimiter", ["'", "%", "\\", ".", "-", "0", "T", "e", "§", "{", "}"])
def test_delimiters_sql_could_misread_give_the_python_bytes(engine, delimiter):
    """Quotes, the drivers' %, a backslash, and characters that canonical numbers, dates and
    UUIDs hold (so those cells are quoted where they hold it)."""
    from tests.test_engines import create_edge_readings, export_readings, python_reference

    create_edge_readings()

    data = export_readings(engine=engine, delimiter=delimiter)

    assert data == python_reference(delimiter=delimiter)
    assert data.count(b"\n") > 5


@ON_SQLITE
@pytest.mark.django_db
@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_text_with_nul_is_quoted_as_python_quotes_it(engine):
    """SQLite's GLOB and length() stop at a NUL, instr() and replace() do not: the quoting test
    must see the comma after it."""
    from tests.factories import OrderFactory

    OrderFactory(note='a\x00,b"c')
    OrderFactory(note="\x00")

    def export(server_text: bool) -> bytes:
        with override_settings(EXPORTS={"SERVER_TEXT": server_text}):
            queryset = Order.objects.all()
            return b"".join(prepare_export(queryset=queryset, fields=["id", "note"], engine=engine))

    assert export(True) == export(False)
    assert b'"a\x00,b""c"' in export(True)


@ON_SQLITE
def test_the_fallback_converts_a_foreign_key_as_its_target():
    """A key to a UUID primary key is stored as 32 hex digits; the fallback must read it as a
    UUID, as Django's compiler does, not as the text stored."""
    from django.db import models
    from django.test.utils import isolate_apps

    from exports.columns import Column
    from exports.formats.base import value_converters
    from exportsite.shapes.models import UuidKey

    with isolate_apps("exportsite.shapes"):

        class Holder(models.Model):
            ref = models.ForeignKey(UuidKey, on_delete=models.CASCADE)

            class Meta:
                app_label = "shapes"

            def __str__(self) -> str:
                return str(self.pk)

        field = Holder._meta.get_field("ref")
        convert = value_converters(Column(path="ref", field=field, label="ref"), connection)

    assert convert("b39cfd4b8abe4d78852010116895cea8") == uuid.UUID(
        "b39cfd4b-8abe-4d78-8520-10116895cea8"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_durations_export_while_queries_are_logged(engine, django_assert_max_num_queries):
    """DEBUG=True (or a test counting queries) has Django format each query's SQL with its
    parameters: a bare "%" in the SQL (SQLite's printf) broke that."""
    from exportsite.shapes.models import Reading

    for i in range(3):
        Reading.objects.create(
            code=f"r{i}", quantity=i, took=dt.timedelta(seconds=i, microseconds=7)
        )
    with django_assert_max_num_queries(10):
        data = b"".join(
            prepare_export(
                queryset=Reading.objects.filter(quantity__gte=0),
                fields=["code", "took"],
                engine=engine,
                chunk_size=2,
            )
        )

    assert (
        data
        == b"code,took\nr0,P0DT00H00M00.000007S\nr1,P0DT00H00M01.000007S\nr2,P0DT00H00M02.000007S\n"
    )


@ON_SQLITE
@pytest.mark.django_db
def test_the_smallest_duration_and_a_zero_fraction_time_fall_back_to_python():
    from exportsite.shapes.models import Reading

    Reading.objects.create(code="a", quantity=1, took=dt.timedelta(microseconds=-(2**63)))
    Reading.objects.create(code="b", quantity=2, clock=dt.time(10))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shapes_reading SET clock = '10:00:00.000000' WHERE code = 'b'")

    def export(server_text: bool) -> bytes:
        with override_settings(EXPORTS={"SERVER_TEXT": server_text}):
            queryset = Reading.objects.all()
            return b"".join(prepare_export(queryset=queryset, fields=["code", "took", "clock"]))

    assert export(True) == export(False)
    assert export(True) == b"code,took,clock\na,-P106751991DT04H00M54.775808S,\nb,,10:00:00\n"
