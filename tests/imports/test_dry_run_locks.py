"""A dry run on SQLite holds no lock between batches, and answers as the real import does.

SQLite locks the whole database file for a writer until its transaction ends: the admin's
validation (a dry run in one transaction) kept every other write on the site failing with
"database is locked" for its whole length. Each batch of a dry run is now written and rolled
back at once; the keys later batches must see are carried in a TEMP table.

The test database is in memory (no file locks), so the lock test opens a database file of its
own under a second alias and writes to it from a separate ``sqlite3`` connection with a short
busy timeout while the dry run waits between two batches.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connections

from exports.imports import errors as E
from exports.imports import import_file
from exportsite.shapes.models import Reading
from exportsite.shop.models import Customer, Order
from tests.sqlite_files import shop_database

from .conftest import read_rejects, snapshot

ALIAS = "dryrunfile"
TIME = "2024-01-01T00:00:00+00:00"


@pytest.fixture
def file_db(tmp_path, django_db_blocker):
    """A file-based SQLite database under ``ALIAS`` with the shop tables and one customer."""
    path = tmp_path / "dry.sqlite3"
    with shop_database(path, ALIAS, django_db_blocker):
        Customer.objects.using(ALIAS).create(
            id=1, email="a@example.com", name="A", country="DE", created_at=TIME
        )
        yield path


def write_elsewhere(path, n: int) -> None:
    """Commit one INSERT from another connection, waiting at most 0.2 s for the lock."""
    other = sqlite3.connect(path, timeout=0.2)
    try:
        other.execute(
            "INSERT INTO shop_customer (email, name, country, created_at)"
            " VALUES (?, 'O', 'DE', '2024-01-01 00:00:00')",
            [f"other{n}@example.com"],
        )
        other.commit()
    finally:
        other.close()


@pytest.mark.parametrize(
    ("mode", "key", "header", "row"),
    [
        ("create", None, "email,name,country,created_at", "u{n}@example.com,U,DE," + TIME),
        ("upsert", ["email"], "email,name,country,created_at", "u{n}@example.com,U,DE," + TIME),
        ("create", None, "customer_id,total_cents,created_at", "1,{n}," + TIME),
    ],
    ids=["create", "upsert", "foreign-key"],
)
def test_another_connection_writes_while_a_dry_run_is_between_batches(
    tmp_path, file_db, mode, key, header, row
):
    model = Order if header.startswith("customer_id") else Customer
    path = tmp_path / "in.csv"
    with open(path, "w") as handle:
        handle.write(header + "\n")
        for n in range(6):
            handle.write(row.format(n=n) + "\n")
    calls = []

    def between_batches(_bytes_read: int) -> None:
        calls.append(_bytes_read)
        write_elsewhere(file_db, len(calls))  # "database is locked" before the fix

    result = import_file(
        model=model,
        source=path,
        mode=mode,
        key=key,
        dry_run=True,
        chunk_size=2,
        using=ALIAS,
        errors_path=tmp_path / "r.csv",
        on_progress=between_batches,
    )
    assert result.complete and not result.committed
    assert (result.created, result.updated, len(calls)) == (6, 0, 3)
    assert Customer.objects.using(ALIAS).count() == 1 + 3  # the other connection's rows only
    assert not Order.objects.using(ALIAS).exists()


def customers_file(path) -> None:
    """Bad rows, and keys that repeat across batches (chunk size 2): every kind of answer."""
    lines = [
        "email,name,country,created_at",
        f"a@example.com,A,DE,{TIME}",  # exists already
        f"b@example.com,B,DE,{TIME}",
        f"c@example.com,C,DE,{TIME}",
        f"b@example.com,B again,DE,{TIME}",  # written by the batch before
        f"d@example.com,D,XXX,{TIME}",  # too long
        f"c@example.com,C again,DE,{TIME}",  # two batches back
        f"e@example.com,E,DE,{TIME}",
    ]
    path.write_text("\n".join(lines) + "\n")


def outcome(result, rejects_path) -> tuple:
    rejects = read_rejects(rejects_path) if result.rejected else []
    return (
        result.rows_read,
        result.created,
        result.updated,
        result.rejected,
        # By line: on PostgreSQL all-or-nothing binds the next batch before settling the last.
        sorted((int(r["line"]), r["column"], r["message"]) for r in rejects),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("on_error", ["abort", "skip"])
@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_a_dry_run_answers_as_the_import(tmp_path, mode, on_error):
    Customer.objects.create(email="a@example.com", name="A", country="DE", created_at=TIME)
    path = tmp_path / "in.csv"
    customers_file(path)
    before = snapshot(Customer)
    options = {"mode": mode, "key": ["email"] if mode == "upsert" else None}
    options |= {"on_error": on_error, "chunk_size": 2}
    dry = import_file(
        model=Customer, source=path, dry_run=True, errors_path=tmp_path / "d.csv", **options
    )
    assert snapshot(Customer) == before
    real = import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv", **options)
    assert outcome(dry, tmp_path / "d.csv") == outcome(real, tmp_path / "r.csv")
    if mode == "create":

        def exists(email: str) -> str:
            return E.ALREADY_EXISTS.format(
                model="shop.Customer", fields="email", value=f'"{email}"'
            )

        assert [m for _line, _column, m in outcome(dry, tmp_path / "d.csv")[4]] == [
            exists("a@example.com"),
            exists("b@example.com"),
            E.TOO_LONG.format(length=3, max_length=2),
            exists("c@example.com"),
        ]


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_sees_rows_of_the_same_table_from_earlier_batches(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        "id,code,quantity,parent_id\n1,A,1,\n2,B,1,\n3,C,1,1\n4,D,1,9\n3,E,1,2\n",
    )
    dry = import_file(
        model=Reading, source=path, dry_run=True, chunk_size=2, errors_path=tmp_path / "d.csv"
    )
    assert not Reading.objects.exists()
    real = import_file(model=Reading, source=path, chunk_size=2, errors_path=tmp_path / "r.csv")
    assert outcome(dry, tmp_path / "d.csv") == outcome(real, tmp_path / "r.csv")
    assert [m for _line, _column, m in outcome(dry, tmp_path / "d.csv")[4]] == [
        E.UNKNOWN_RELATED.format(model="shapes.Reading", field="id", value='"9"'),
        E.ALREADY_EXISTS.format(model="shapes.Reading", fields="id", value='"3"'),
    ]


@pytest.mark.parametrize("on_error", ["abort", "skip"])
def test_an_import_on_a_connection_not_yet_opened(tmp_path, file_db, on_error):
    """The first query of a fresh process (``importdata``) is the import's IMMEDIATE BEGIN.

    SQLite's ``transaction_mode`` attribute exists only once connected: every all-or-nothing
    ``importdata`` on SQLite ended in ``AttributeError`` before the fix.
    """
    path = tmp_path / "in.csv"
    path.write_text(f"email,name,country,created_at\nfresh@example.com,F,DE,{TIME}\n")
    connections[ALIAS].close()
    delattr(connections._connections, ALIAS)  # a wrapper that has never connected
    result = import_file(
        model=Customer, source=path, on_error=on_error, using=ALIAS, errors_path=tmp_path / "r"
    )
    assert result.complete and result.created == 1
    assert Customer.objects.using(ALIAS).filter(email="fresh@example.com").exists()
