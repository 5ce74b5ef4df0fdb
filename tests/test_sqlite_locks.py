"""On SQLite a download must never hold a read lock while its client is slow.

SQLite's default rollback journal lets no writer commit while a reader holds a SHARED lock, and
a statement left open between fetches (the cursor engine) holds one for the whole transfer. The
test database is in memory, which has no such locks, so these tests open a database file of
their own under a second alias and write to it from a separate ``sqlite3`` connection with a
short busy timeout while the export has produced only its first batch.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.db.models.functions import Lower

from exports.models import ExportLog
from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from tests.sqlite_files import shop_database

ALIAS = "lockfile"
ROWS = 40
CHUNK = 5

# SQLite's locking (the PostgreSQL run has its own).
pytestmark = pytest.mark.sqlite


@pytest.fixture
def lock_db(tmp_path, django_db_blocker):
    """A file-based SQLite database under ``ALIAS`` holding the shop tables and ``ROWS`` orders."""
    path = tmp_path / "locks.sqlite3"
    with shop_database(path, ALIAS, django_db_blocker):
        customer = Customer.objects.using(ALIAS).create(
            email="a@example.com", name="A", country="DE", created_at=dt.datetime.now(dt.UTC)
        )
        Order.objects.using(ALIAS).bulk_create(
            Order(
                customer=customer,
                total_cents=index % 7,
                created_at=dt.datetime(2024, 1, 1 + index % 5, tzinfo=dt.UTC),
                discount=None if index % 3 else Decimal(index),
                shipped_on=None if index % 2 else dt.date(2024, 2, 1 + index % 4),
                note=f"Note {index % 4}",
            )
            for index in range(ROWS)
        )
        yield path


def write_elsewhere(path) -> None:
    """Commit one UPDATE from another connection, waiting at most 0.2 s for the lock."""
    other = sqlite3.connect(path, timeout=0.2)
    try:
        other.execute("UPDATE shop_order SET note = 'written' WHERE id = 1")
        other.commit()
    finally:
        other.close()


ORDERINGS = [
    pytest.param(["pk", "-pk"], id="admin-default"),
    pytest.param(["-pk"], id="pk-desc"),
    pytest.param(["-created_at", "pk"], id="mixed-directions"),
    pytest.param(["shipped_on"], id="nullable"),
    pytest.param(["-discount", "note"], id="nullable-desc"),
    pytest.param([Lower("note").desc(), "created_at"], id="expression"),
    pytest.param([F("shipped_on").asc(nulls_last=True), "-pk"], id="explicit-nulls-last"),
]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_a_stalled_download_leaves_writers_free(lock_db, django_db_blocker, ordering):
    with django_db_blocker.unblock():
        queryset = Order.objects.using(ALIAS).order_by(*ordering)
        export = prepare_export(
            queryset=queryset, fields=["id", "note"], chunk_size=CHUNK, client_paced=True
        )
        chunks = iter(export)
        try:
            next(chunks)  # the header
            first = next(chunks)  # the first batch; the consumer reads no further
            write_elsewhere(lock_db)
        finally:
            chunks.close()

    assert export.engine == "keyset"
    assert first.count(b"\n") == CHUNK


def test_the_cursor_engine_would_block_them(lock_db, django_db_blocker):
    """What the keyset engine avoids (and proof the test above can fail)."""
    with django_db_blocker.unblock():
        export = prepare_export(
            queryset=Order.objects.using(ALIAS).all(),
            fields=["id"],
            chunk_size=CHUNK,
            engine="cursor",
        )
        chunks = iter(export)
        try:
            next(chunks)
            next(chunks)
            with pytest.raises(sqlite3.OperationalError) as excinfo:
                write_elsewhere(lock_db)
        finally:
            chunks.close()
        write_elsewhere(lock_db)  # free again once the stream is closed

    assert excinfo.value.args == ("database is locked",)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="default-ordering"),
        pytest.param("&o=-7.1", id="created_at-desc-then-id"),
        pytest.param("&o=2", id="by-customer"),
        pytest.param("&o=-3", id="by-status-desc"),
    ],
)
def test_the_admins_export_all_pages_with_keyset(client, exporter, orders, streamed, query):
    """The changelist's orderings (``pk, -pk``, any ``o=``) all page without a held lock."""
    client.force_login(exporter)

    response = client.get(f"/admin/shop/order/export/?_export_format=csv{query}")
    body = streamed(response)

    assert response.status_code == 200
    assert body.count(b"\n") == len(orders) + 1
    assert ExportLog.objects.get().engine == "keyset"


@pytest.mark.django_db
def test_an_ordering_keyset_cannot_page_is_refused_by_export_all(
    client, exporter, orders, monkeypatch
):
    # Sorting by customer then follows Customer's name, which paging on customer_id cannot.
    monkeypatch.setattr(Customer._meta, "ordering", ["name"])
    client.force_login(exporter)

    response = client.get("/admin/shop/order/export/?_export_format=csv&o=2")

    assert response.status_code == 400
    assert response.content.decode() == (
        "This export cannot be ordered by customer, -pk on SQLite: only the keyset engine reads "
        "without holding a lock while the client downloads, and it cannot page on that ordering "
        "(random order, an aggregate, or a relation sorted by its model's Meta.ordering); order "
        "by fields or the primary key."
    )
    assert not ExportLog.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "engine"),
    [
        pytest.param(["--order-by=-shipped_on,customer__email"], "keyset", id="auto-keyset"),
        pytest.param(["--engine", "cursor"], "cursor", id="explicit-cursor"),
    ],
)
def test_exportdata_to_a_file_may_still_use_the_cursor(orders, tmp_path, args, engine):
    """A file's pace is the disk's: an operator's explicit cursor engine stays allowed."""
    out = io.StringIO()

    call_command("exportdata", "shop.Order", "-o", str(tmp_path / "o.csv"), *args, stdout=out)

    assert out.getvalue().endswith(f"engine {engine}).\n")
