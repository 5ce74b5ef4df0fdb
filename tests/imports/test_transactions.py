"""What an import asks of its connection: BEGIN IMMEDIATE on SQLite, the DEBUG query log."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext

from exports.imports import import_file
from exports.imports.transactions import atomic, forget_queries_since, last_logged_query
from exportsite.shop.models import Customer
from tests.imports.test_pipeline import write_customers

pytestmark = pytest.mark.django_db(transaction=True)


def log_query(sql: str = "SELECT 1") -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_import_forgets_its_own_queries_and_keeps_the_callers(settings, tmp_path):
    settings.DEBUG = True
    path = tmp_path / "c.csv"
    write_customers(path, 30)
    connection.queries_log.clear()
    log_query("SELECT 42")
    result = import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv", chunk_size=10)
    assert result.created == 30
    # The caller's entry, then only what ended the import's transaction (its COMMIT on SQLite).
    sqls = [q["sql"] for q in connection.queries]
    assert sqls[0] == "SELECT 42"
    assert sqls[1:] in ([], ["COMMIT"])


def test_queries_captured_on_purpose_are_kept(tmp_path):
    path = tmp_path / "c.csv"
    write_customers(path, 30)
    with CaptureQueriesContext(connection) as captured:
        import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv", chunk_size=10)
    assert len(captured.captured_queries) >= 3  # at least one write per batch


def test_forget_stops_at_the_mark(settings):
    settings.DEBUG = True
    connection.queries_log.clear()
    log_query("SELECT 1")
    mark = last_logged_query(DEFAULT_DB_ALIAS)
    log_query("SELECT 2")
    log_query("SELECT 3")
    forget_queries_since(DEFAULT_DB_ALIAS, mark)
    assert [q["sql"] for q in connection.queries] == ["SELECT 1"]
    forget_queries_since(DEFAULT_DB_ALIAS, None)
    assert connection.queries == []


@pytest.mark.sqlite
def test_the_outermost_transaction_begins_immediate_on_sqlite(settings):
    settings.DEBUG = True
    connection.ensure_connection()
    saved = connection.transaction_mode
    with (
        CaptureQueriesContext(connection) as captured,
        atomic(DEFAULT_DB_ALIAS, begin_immediate=True),
    ):
        assert connection.transaction_mode == saved  # restored once BEGIN is sent
        with atomic(DEFAULT_DB_ALIAS, begin_immediate=True):
            log_query()
    sqls = [q["sql"] for q in captured.captured_queries]
    assert sqls[0] == "BEGIN IMMEDIATE"
    assert sqls.count("BEGIN IMMEDIATE") == 1  # the inner one is a savepoint
