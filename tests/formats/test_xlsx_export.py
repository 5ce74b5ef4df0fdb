"""XLSX through the pipeline: engines, ``exportdata -o x.xlsx``, the download, flat memory.

The cell rules themselves are in ``test_xlsx.py``; here the rows come from the database (both
backends) and the file is read back with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection

from exports.errors import ExportError
from exports.kinds import canonical_json_text
from exports.stream import prepare_export
from exportsite.shop.models import Order
from tests.exporting import ORDER_FIELDS, PYTHON_ENGINES, create_tricky_orders
from tests.test_memory import export_peak, large_table  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_rows(data: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return list(ws.iter_rows(values_only=True))


def expected_row(order: Order) -> tuple:
    """What openpyxl reads back for an order, field by field (ORDER_FIELDS)."""
    created = order.created_at.astimezone(dt.UTC).replace(tzinfo=None)
    return (
        order.id,
        order.customer_id,
        order.customer.email,
        order.status,
        order.total_cents,
        order.currency,
        None if order.discount is None else float(order.discount),
        order.is_gift,
        created,
        None if order.shipped_on is None else dt.datetime.combine(order.shipped_on, dt.time()),
        order.note,
        str(order.reference),
        # The canonical text of the stored JSON (decimal numbers written out: 1e20 in full).
        canonical_json_text(json.dumps(order.metadata)),
    )


def assert_same_datetimes(found: dt.datetime, expected: dt.datetime) -> None:
    # openpyxl rounds date cells to the millisecond (the serial itself keeps about a
    # microsecond: test_xlsx.py::test_datetime_serial_keeps_microseconds).
    assert abs(found - expected) <= dt.timedelta(microseconds=500), (found, expected)


@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_rows_read_back_as_the_database_holds_them(engine):
    create_tricky_orders()
    export = prepare_export(
        queryset=Order.objects.all(), fields=ORDER_FIELDS, format="xlsx", engine=engine
    )
    rows = read_rows(b"".join(export))
    assert rows[0] == tuple(
        f"{field} (UTC)" if field == "created_at" else field for field in ORDER_FIELDS
    )
    created_at = ORDER_FIELDS.index("created_at")
    orders = Order.objects.select_related("customer").order_by("pk")
    assert len(rows) == 1 + orders.count()
    for found, order in zip(rows[1:], orders, strict=True):
        expected = expected_row(order)
        assert_same_datetimes(found[created_at], expected[created_at])
        # A CR is kept (written as a character reference): XML would turn a raw one into LF.
        assert found[:created_at] + found[created_at + 1 :] == (
            expected[:created_at] + expected[created_at + 1 :]
        )
    assert export.completed and export.rows == orders.count()


def test_engines_write_the_same_bytes():
    create_tricky_orders()
    outputs = {
        engine: b"".join(
            prepare_export(
                queryset=Order.objects.all(),
                fields=ORDER_FIELDS,
                format="xlsx",
                engine=engine,
                chunk_size=7,
            )
        )
        for engine in ("cursor", "keyset")
    }
    assert outputs["cursor"] == outputs["keyset"]


def test_auto_never_picks_copy():
    export = prepare_export(queryset=Order.objects.all(), format="xlsx")
    expected = "cursor" if connection.vendor == "postgresql" else "keyset"
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        expected = "keyset"
    assert export.engine == expected


def test_copy_engine_is_refused_before_any_query(django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ExportError) as excinfo:
        prepare_export(queryset=Order.objects.all(), format="xlsx", engine="copy")
    message = excinfo.value.args[0]
    if connection.vendor == "postgresql":
        assert message == "The copy engine writes csv, tsv and jsonl only, not xlsx."
    else:
        assert message.startswith("The copy engine needs PostgreSQL")


# exportdata --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [pytest.param([], id="by-suffix"), pytest.param(["--format", "xlsx"], id="format")]
)
def test_exportdata_writes_an_xlsx_file(tmp_path, args):
    create_tricky_orders()
    target = tmp_path / ("orders.xlsx" if not args else "orders.out")
    stdout = io.StringIO()
    call_command(
        "exportdata", "shop.Order", "-o", str(target), "--fields", "id,note", *args, stdout=stdout
    )
    rows = read_rows(target.read_bytes())
    assert rows[0] == ("id", "note")
    assert rows[1:] == list(Order.objects.order_by("pk").values_list("id", "note"))
    assert f"Exported {len(rows) - 1:,} rows of shop.Order to {target}" in stdout.getvalue()


def test_exportdata_to_a_binary_stdout():
    create_tricky_orders()
    stdout = io.BytesIO()
    call_command(
        "exportdata",
        "shop.Order",
        "--format",
        "xlsx",
        "--fields",
        "id",
        stdout=stdout,
        stderr=io.StringIO(),
    )
    assert read_rows(stdout.getvalue())[:3] == [("id",), (1,), (2,)]


# The download ------------------------------------------------------------------------------


def test_download_streams_one_chunk_per_batch(client, exporter, orders, settings):
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 1}
    client.force_login(exporter)
    response = client.get("/exports/shop/order.xlsx", {"fields": "id,note"})
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    chunks = iter(response.streaming_content)
    first = next(chunks)
    # The ZIP has started (a local header, the header row) but is not complete: no end of
    # central directory yet, and no way to read it as a ZIP.
    assert first.startswith(b"PK\x03\x04")
    assert b"PK\x05\x06" not in first
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(first))
    rest = list(chunks)
    # One chunk per row (CHUNK_SIZE 1), then the central directory.
    assert len(rest) == 3 + 1
    assert all(rest)
    rows = read_rows(first + b"".join(rest))
    assert rows == [("id", "note"), (1, "=1+2"), (2, 'He said "hi", then left'), (3, "@SUM(A1)")]


# The admin ---------------------------------------------------------------------------------

CHANGELIST = "/admin/shop/order/"


def test_admin_action_and_picker_offer_xlsx(client, exporter, orders, streamed):
    client.force_login(exporter)
    assert "Export selected orders as XLSX" in client.get(CHANGELIST).content.decode()
    picker = client.get(CHANGELIST + "export/").content.decode()
    assert '<input type="radio" name="_export_format" value="xlsx"' in picker

    data = {"action": "export_selected_xlsx", "index": "0", "_selected_action": ["2", "3"]}
    response = client.post(CHANGELIST, data)
    assert response["Content-Type"] == XLSX_TYPE
    rows = read_rows(streamed(response))
    assert [row[:4] for row in rows] == [
        ("id", "customer_id", "customer__email", "status"),
        (2, 2, "bob@example.com", "shipped"),
        (3, 1, "alice@example.com", "paid"),
    ]


def test_admin_export_all_as_xlsx(client, exporter, orders, streamed):
    client.force_login(exporter)
    response = client.get(
        CHANGELIST + "export/",
        {"_export_format": "xlsx", "_export_fields": ["id", "note"], "status__exact": "paid"},
    )
    assert response["Content-Type"] == XLSX_TYPE
    assert read_rows(streamed(response)) == [("id", "note"), (1, "=1+2"), (3, "@SUM(A1)")]


# Memory ------------------------------------------------------------------------------------

SMALL, LARGE = 20_000, 200_000


def xlsx_peak(*, rows: int, engine: str) -> int:
    peak, written_rows = export_peak(
        rows=rows, engine=engine, chunk_size=1_000, format="xlsx", min_row_bytes=10
    )
    assert written_rows == rows
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_memory_does_not_grow_with_rows(large_table, engine):  # noqa: F811
    xlsx_peak(rows=2_000, engine=engine)  # warm caches
    small = xlsx_peak(rows=SMALL, engine=engine)
    large = xlsx_peak(rows=LARGE, engine=engine)
    assert small < 8 * 1024 * 1024, f"{small:,} bytes"
    assert large < 8 * 1024 * 1024, f"{large:,} bytes"
    assert large - small < 512 * 1024, f"{small:,} -> {large:,} bytes"
