"""What an import asks of its connection around the batches: transactions, planner settings,
the DEBUG query log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connections, transaction


@contextlib.contextmanager
def atomic(using: str, *, begin_immediate: bool) -> Iterator[None]:
    """``transaction.atomic``; with ``begin_immediate``, when outermost, begun IMMEDIATE.

    On SQLite a deferred BEGIN reads first (the key lookups) and asks for the write lock
    after. If another connection commits in between, SQLite ends that deadlock by failing
    this one at once ("database is locked"), and the batch's rows were rejected for it.
    IMMEDIATE waits for the lock (the busy timeout) before the first read instead.
    """
    connection: Any = connections[using]  # transaction_mode: SQLite's wrapper only
    if not begin_immediate or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    # ``transaction_mode`` exists only once connected, and connecting resets it from
    # OPTIONS: connect first (a fresh ``importdata`` process has no connection yet).
    connection.ensure_connection()
    with contextlib.ExitStack() as stack:
        saved, connection.transaction_mode = connection.transaction_mode, "IMMEDIATE"
        try:
            stack.enter_context(transaction.atomic(using=using))  # BEGIN IMMEDIATE
        finally:
            connection.transaction_mode = saved
        yield


@contextlib.contextmanager
def index_lookups(using: str, *, enabled: bool) -> Iterator[None]:
    """On PostgreSQL (``enabled``), make the per-batch key lookups use their unique indexes.

    A table that was empty when last analysed (a fresh import) would otherwise be scanned
    whole once per batch: quadratic. SET LOCAL keeps it to this transaction; RESET after
    the lookups keeps it from the caller's own queries.
    """
    if not enabled:
        yield
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")


def last_logged_query(using: str) -> Any:
    """The newest entry of the connection's query log (None when empty): a mark for
    :func:`forget_queries_since`."""
    log = connections[using].queries_log
    return log[-1] if log else None


def forget_queries_since(using: str, mark: Any) -> None:
    """Drop the queries logged after ``mark`` when only ``DEBUG = True`` logged them.

    The export engines' policy (``exports.keyset``): with DEBUG on, Django keeps the SQL of
    the last 9,000 queries, and one bulk insert's SQL is megabytes, so a batch's entries are
    dropped once it is done; whoever captures queries on purpose (``assertNumQueries``,
    ``CaptureQueriesContext``) sets ``force_debug_cursor`` and keeps every entry; entries
    logged before the batch (the caller's own) are never touched.
    """
    connection = connections[using]
    if connection.force_debug_cursor or not connection.queries_logged:
        return
    log = connection.queries_log
    while log and log[-1] is not mark:
        log.pop()
