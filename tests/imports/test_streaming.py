"""Create mode on PostgreSQL: rows go to COPY as they are bound, PostgreSQL checks the keys.

When PostgreSQL refuses a batch, the importer rolls it back and checks it row by row itself,
so the outcome (and every message) is the same as with the checks made first.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from exports.imports import errors as E
from exports.imports import import_file
from exports.stream import prepare_export
from exportsite.shop.models import Order
from tests.factories import CustomerFactory, OrderFactory

from .conftest import read_rejects, snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

FIELDS = [f.attname for f in Order._meta.concrete_fields]
HEADER = "customer_id,status,total_cents,created_at,reference\n"


def write_orders(path, customer_ids, *, first=1) -> None:
    with open(path, "w") as handle:
        handle.write(HEADER)
        for n, customer_id in enumerate(customer_ids, start=first):
            handle.write(f"{customer_id},paid,{n},2024-01-01T00:00:00+00:00,{n:032x}\n")


def lookups(queries) -> list[str]:
    return [q["sql"] for q in queries if "= ANY(" in q["sql"]]


def test_clean_batches_are_not_looked_up_first(tmp_path):
    customer = CustomerFactory()
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 10)
    with CaptureQueriesContext(connection) as ctx:
        result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=4)
    assert (result.created, result.rejected, result.committed) == (10, 0, True)
    assert lookups(ctx.captured_queries) == []
    assert sorted(Order.objects.values_list("total_cents", flat=True)) == list(range(1, 11))


def test_a_refused_batch_is_checked_row_by_row(tmp_path):
    customer = CustomerFactory()
    taken = OrderFactory(customer=customer, reference=uuid.UUID(int=6))
    before = snapshot(Order)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 3 + [customer.pk, 999_999, customer.pk] + [customer.pk] * 3)
    with CaptureQueriesContext(connection) as ctx:
        result = import_file(
            model=Order,
            source=path,
            errors_path=tmp_path / "r.csv",
            chunk_size=3,
            on_error="skip",
        )
    # Batches of three: the middle one has an unknown customer and a taken reference.
    assert (result.created, result.rejected) == (7, 2)
    assert [(r["line"], r["column"], r["message"]) for r in read_rejects(tmp_path / "r.csv")] == [
        (
            "6",
            "customer_id",
            E.UNKNOWN_RELATED.format(model="shop.Customer", field="id", value='"999999"'),
        ),
        (
            "7",
            "reference",
            E.ALREADY_EXISTS.format(
                model="shop.Order", fields="reference", value=f'"{taken.reference}"'
            ),
        ),
    ]
    assert len(lookups(ctx.captured_queries)) >= 2  # only the refused batch was looked up
    assert Order.objects.count() == len(before) + 7
    assert sorted(Order.objects.exclude(pk=taken.pk).values_list("total_cents", flat=True)) == [
        1,
        2,
        3,
        4,
        7,
        8,
        9,
    ]


def test_abort_mode_leaves_the_table_as_it_was(tmp_path):
    customer = CustomerFactory()
    OrderFactory.create_batch(2, customer=customer)
    before = snapshot(Order)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 5 + [999_999] + [customer.pk] * 5, first=100)
    result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=4)
    assert (result.rows_read, result.rejected, result.committed) == (11, 1, False)
    assert snapshot(Order) == before


def test_abort_mode_refused_batch_names_the_rows_and_a_dry_run_writes_nothing(tmp_path):
    customer = CustomerFactory()
    taken = OrderFactory(customer=customer, reference=uuid.UUID(int=7))
    before = snapshot(Order)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 12)
    for dry_run in (True, False):
        result = import_file(
            model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=5, dry_run=dry_run
        )
        assert (result.rows_read, result.created, result.rejected) == (12, 11, 1)
        assert result.committed is False
        assert read_rejects(tmp_path / "r.csv") == [
            {
                "line": "8",
                "column": "reference",
                "message": E.ALREADY_EXISTS.format(
                    model="shop.Order", fields="reference", value=f'"{taken.reference}"'
                ),
                "row": f"{customer.pk},paid,7,2024-01-01T00:00:00+00:00,{7:032x}",
            }
        ]
        assert snapshot(Order) == before
    assert not connection.allow_thread_sharing


def test_a_file_error_with_a_batch_in_flight_rolls_everything_back(tmp_path):
    """A bad byte far into the file stops the import while the batch before it is written."""
    customer = CustomerFactory()
    before = snapshot(Order)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 5000)
    with open(path, "ab") as handle:
        handle.write(b"1,caf\xe9,1,2024-01-01T00:00:00+00:00,\n")
    result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=100)
    assert result.stopped.startswith("line 5002 (byte offset ")
    assert result.rows_read > 100 and result.committed is False
    assert snapshot(Order) == before
    assert not connection.allow_thread_sharing
    with connection.cursor() as cursor:  # the connection is fine afterwards
        cursor.execute("SELECT count(*) FROM shop_order")
        assert cursor.fetchone() == (len(before),)


def test_foreign_keys_are_deferred_again_afterwards(tmp_path):
    """The importer makes the table's foreign keys IMMEDIATE only for its own statements."""
    customer = CustomerFactory()
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 3)
    saved = False
    with pytest.raises(IntegrityError), transaction.atomic():
        result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv")
        assert result.created == 3
        # Deferred: accepted now, refused at COMMIT (an IMMEDIATE key would raise here).
        OrderFactory.build(customer_id=999_999, reference=uuid.UUID(int=99)).save()
        saved = True
    assert saved
    assert not Order.objects.exists()


def test_json_numbers_keep_every_digit(tmp_path):
    """COPY takes the file's checked JSON text: no round trip through Python floats."""
    order = OrderFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE shop_order SET metadata = %s::jsonb WHERE id = %s",
            [
                '{"x": 0.1000000000000000055511151231257827, "n": 123456789012345678901234567890}',
                order.pk,
            ],
        )
    stored = "SELECT metadata::text FROM shop_order ORDER BY id"
    with connection.cursor() as cursor:
        cursor.execute(stored)
        before = cursor.fetchall()
    path = tmp_path / "o.csv"
    path.write_bytes(b"".join(prepare_export(queryset=Order.objects.all(), fields=FIELDS)))
    Order.objects.all().delete()
    result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv")
    assert result.complete and result.created == 1
    with connection.cursor() as cursor:
        cursor.execute(stored)
        assert cursor.fetchall() == before
    assert Order.objects.get().metadata["x"] == 0.1  # Django reads it back as a float


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the sequence only moves forward
@pytest.mark.parametrize("on_error", ["abort", "skip"])
def test_the_id_sequence_moves_past_imported_ids(tmp_path, on_error):
    customer = CustomerFactory()
    path = tmp_path / "o.csv"
    with open(path, "w") as handle:
        handle.write("id," + HEADER)
        for n in range(1, 11):
            handle.write(f"{n * 10},{customer.pk},paid,{n},2024-01-01T00:00:00+00:00,{n:032x}\n")
    result = import_file(
        model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=3, on_error=on_error
    )
    assert result.complete and result.created == 10
    assert OrderFactory(customer=customer).pk == 101  # not 1: the sequence was moved on


def drop_constraint(kind: str, column: str) -> None:
    """Drop shop_order's constraint of ``kind`` ('f' or 'u') on ``column`` (this test only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = 'shop_order'::regclass AND c.contype = %s AND a.attname = %s",
            [kind, column],
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE shop_order DROP CONSTRAINT "{name}"')


@pytest.mark.django_db(transaction=False)  # the DDL below is rolled back with the test
@pytest.mark.parametrize(
    ("kind", "column"), [("f", "customer_id"), ("u", "reference")], ids=["fk", "unique"]
)
def test_keys_the_table_does_not_enforce_are_checked_here(tmp_path, kind, column):
    drop_constraint(kind, column)  # first: an insert leaves trigger events that block DDL
    customer = CustomerFactory()
    if kind == "u":
        OrderFactory(customer=customer, reference=uuid.UUID(int=2))
    before = snapshot(Order)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk, 999_999 if kind == "f" else customer.pk, customer.pk])
    result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv")
    assert [(r["line"], r["column"]) for r in read_rejects(tmp_path / "r.csv")] == [("3", column)]
    assert (result.rejected, result.committed) == (1, False)
    assert snapshot(Order) == before


def test_upsert_in_skip_mode_across_real_commits(tmp_path):
    """Each batch commits, which drops the temporary table; the next batch makes it again."""
    customer = CustomerFactory()
    OrderFactory(customer=customer, reference=uuid.UUID(int=2), total_cents=-1)
    path = tmp_path / "o.csv"
    write_orders(path, [customer.pk] * 7)  # references 1 to 7, total_cents 1 to 7
    result = import_file(
        model=Order,
        source=path,
        errors_path=tmp_path / "r.csv",
        mode="upsert",
        key=["reference"],
        on_error="skip",
        chunk_size=3,
    )
    assert (result.created, result.updated, result.rejected) == (6, 1, 0)
    assert sorted(Order.objects.values_list("total_cents", flat=True)) == list(range(1, 8))
