"""The id sequence after imports with explicit ids: moved on only by committed rows, forward only.

PostgreSQL's ``setval`` is not transactional: moved inside a transaction that is then rolled
back (a dry run, an all-or-nothing import with a bad row), it stays moved. A dry run with the
id 9223372036854775807 would leave every later ``create()`` failing with "nextval: reached
maximum value of sequence".
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection

from exports.imports import import_file
from exportsite.shop.models import Customer

# Each test starts from fresh sequences: a flush leaves them where the last test put them.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

HUGE = 9223372036854775807
HEADER = "id,email,name,country,created_at\n"


def write(path, ids, *, bad: int | None = None) -> None:
    with open(path, "w") as handle:
        handle.write(HEADER)
        for n in ids:
            country = "XXX" if n == bad else "DE"
            handle.write(f"{n},u{n}@example.com,U,{country},2024-01-01T00:00:00+00:00\n")


def last_value() -> tuple | None:
    """The pk sequence's (last_value, is_called) on PostgreSQL; None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('shop_customer', 'id')")
        (name,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {name}")
        return cursor.fetchone()


def create() -> Customer:
    return Customer.objects.create(
        email=f"new{Customer.objects.count()}@example.com",
        name="N",
        country="DE",
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    "how",
    ["dry-run-abort", "dry-run-skip", "rolled-back", "rolled-back-skip-batch"],
)
def test_nothing_written_leaves_the_sequence_alone(tmp_path, how):
    first = create()
    before = last_value()
    path = tmp_path / "c.csv"
    # The bad row is in the same batch as the huge id (chunk 2): skip mode rolls only that
    # batch's bad row back, so the huge id is written there; hence its own batch below.
    if how == "rolled-back-skip-batch":
        write(path, [HUGE, 5], bad=5)
        options = {"on_error": "skip", "chunk_size": 1}
        expect_created = 1  # the huge id, committed: this case checks the committed path
    else:
        write(path, [5, HUGE, 7], bad=7 if how == "rolled-back" else None)
        options = {
            "dry-run-abort": {"dry_run": True},
            "dry-run-skip": {"dry_run": True, "on_error": "skip"},
            "rolled-back": {"chunk_size": 2},
        }[how]
    result = import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv", **options)
    if how == "rolled-back-skip-batch":
        assert result.committed and result.created == expect_created
        return
    assert not result.committed
    assert Customer.objects.count() == 1
    assert last_value() == before
    assert create().pk == first.pk + 1


@pytest.mark.parametrize("on_error", ["abort", "skip"])
def test_a_committed_import_moves_the_sequence_past_its_ids(tmp_path, on_error):
    create()
    path = tmp_path / "c.csv"
    write(path, [10, 500, 20])
    result = import_file(
        model=Customer,
        source=path,
        errors_path=tmp_path / "r.csv",
        on_error=on_error,
        chunk_size=1,
    )
    assert result.committed and result.created == 3
    assert create().pk == 501


def test_skip_mode_moves_the_sequence_for_the_batches_it_committed(tmp_path):
    """A failure after some batches committed: those batches' ids are behind the sequence."""
    path = tmp_path / "c.csv"
    with open(path, "w") as handle:
        handle.write(HEADER)
        handle.write("300,a@example.com,A,DE,2024-01-01T00:00:00+00:00\n")
        handle.write('400,"never closed\n')
    result = import_file(
        model=Customer, source=path, errors_path=tmp_path / "r.csv", on_error="skip", chunk_size=1
    )
    assert result.stopped and result.created == 1
    assert create().pk == 301


@pytest.mark.postgres
def test_a_committed_batch_moves_the_sequence_to_its_largest_id(tmp_path):
    create()
    path = tmp_path / "c.csv"
    write(path, [HUGE, 5], bad=5)
    result = import_file(
        model=Customer,
        source=path,
        errors_path=tmp_path / "r.csv",
        on_error="skip",
        chunk_size=1,
    )
    assert result.committed and result.created == 1
    assert last_value() == (HUGE, True)


@pytest.mark.postgres
def test_the_sequence_never_moves_back_below_another_sessions_ids(tmp_path):
    """Another session took ids 1..200 (not committed yet) while the import wrote 10 and 20."""
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )  # fmt: skip
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT max(nextval(pg_get_serial_sequence('shop_customer', 'id')))"
                " FROM generate_series(1, 200)"
            )
            assert cursor.fetchone() == (200,)
            cursor.execute(
                "INSERT INTO shop_customer (id, email, name, country, created_at)"
                " VALUES (200, 'other@example.com', 'O', 'DE', now())"
            )
        path = tmp_path / "c.csv"
        write(path, [10, 20])
        result = import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv")
        assert result.committed
        assert last_value() == (200, True)  # not 20: the other session's ids stay ahead
        other.commit()
    finally:
        other.close()
    assert create().pk == 201
