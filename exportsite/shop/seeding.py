"""Load the demo rows fast: COPY on PostgreSQL, executemany of prepared values elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from django.db import connections, transaction

from .demo_data import CUSTOMER_COLUMNS, ORDER_COLUMNS, customer_rows, order_rows
from .models import Customer, Order


def seed(
    *,
    orders: int,
    customers: int | None = None,
    seed: int = 42,
    using: str = "default",
    batch_size: int = 20_000,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Replace the demo tables' contents with ``orders`` orders; return (customers, orders)."""
    customers = customers or max(1, orders // 20)
    connection = connections[using]
    with transaction.atomic(using=using):
        _clear(connection)
        _load(Customer, CUSTOMER_COLUMNS, customer_rows(customers, seed=seed), using, batch_size)
        _load(
            Order,
            ORDER_COLUMNS,
            order_rows(orders, customers=customers, seed=seed),
            using,
            batch_size,
            on_progress,
        )
        _reset_sequences(using)
    return customers, orders


def _clear(connection) -> None:
    tables = [Order._meta.db_table, Customer._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of rows written earlier in the same transaction
            # would make TRUNCATE fail ("pending trigger events"): run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            if connection.vendor == "sqlite":
                # AUTOINCREMENT keys continue after the largest ever used (sqlite_sequence),
                # not the largest left: start again, as RESTART IDENTITY does.
                marks = ", ".join("%s" for _ in tables)
                cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({marks})", tables)


def _load(model, columns, rows: Iterable[tuple], using, batch_size, on_progress=None) -> None:
    connection = connections[using]
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        _copy(connection, table, columns, rows, on_progress)
        return
    fields = [model._meta.get_field(c if c != "customer_id" else "customer") for c in columns]
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        for batch in _batches(rows, batch_size):
            prepared = [
                tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
                for row in batch
            ]
            cursor.executemany(sql, prepared)
            if on_progress:
                on_progress(len(batch))


def _copy(connection, table, columns, rows, on_progress) -> None:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    json_index = columns.index("metadata") if "metadata" in columns else None
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        count = 0
        for row in rows:
            if json_index is not None:
                row = (*row[:json_index], json.dumps(row[json_index]), *row[json_index + 1 :])
            copy.write_row(row)
            count += 1
            if on_progress and count % 20_000 == 0:
                on_progress(20_000)
        if on_progress and count % 20_000:
            on_progress(count % 20_000)


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _reset_sequences(using: str) -> None:
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(_NoStyle(), [Customer, Order])
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


class _NoStyle:
    def __getattr__(self, name):
        return lambda text: text
