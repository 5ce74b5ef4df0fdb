"""Loaders: batches of checked rows written to the database, as the write strategy says
(:func:`exports.imports.strategy.choose_write_strategy` decides which of these applies).

- ``create`` on PostgreSQL: :meth:`Loader.stream`, ``COPY ... FROM STDIN`` fed with each row
  as soon as it is bound, PostgreSQL checking unique keys and (made IMMEDIATE) foreign keys;
  a batch it refuses is rolled back to its savepoint, checked here, and written again without
  its bad rows. ``bulk_create`` after the checks elsewhere, for foreign keys given by a lookup
  (``customer__email``), or when a field has a database default.
- ``upsert``: on PostgreSQL, COPY into a temporary table, then
  ``INSERT ... SELECT ... ON CONFLICT (<key>) DO UPDATE``; elsewhere
  ``bulk_create(update_conflicts=True, unique_fields=<key>)``, the same statement built
  by Django.
- ``update``: ``bulk_update`` of the rows whose key exists.

If the database still refuses a batch (a check constraint, a race with another writer), the
batch is retried row by row, each in a savepoint, so the row at fault is named.

The loader never moves the id sequence itself: :meth:`Loader.reset_sequence` is for the
caller to run once the rows are committed (``setval`` is not transactional).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from django.db import DatabaseError, connections, models, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from .converters import keeps_json_text
from .errors import DATABASE_REJECTED, RowError
from .integrity import NATIVE_TYPES, Row
from .plan import Plan, is_auto
from .strategy import WriteMethod, WriteStrategy, update_fields

# Values psycopg's COPY writes correctly as they are (after the binder's checks).
_COPY_AS_IS = NATIVE_TYPES | {
    "BooleanField",
    "DecimalField",
    "FloatField",
    "DateTimeField",
    "TimeField",
    "DurationField",
    "BinaryField",
}


class Loader:
    """Writes batches of rows of ``plan`` as ``strategy`` says (no query until asked)."""

    def __init__(self, plan: Plan, *, using: str, strategy: WriteStrategy) -> None:
        self.plan = plan
        self.using = using
        self.strategy = strategy
        self.connection = connections[using]
        self.model = plan.model
        self.fields = plan.written_fields()
        self.attnames = [f.attname for f in self.fields]
        positions: dict[str, int] = {}
        for index, target in enumerate(plan.targets):
            positions.setdefault(target.field.attname, index)
        self.positions = [positions[f.attname] for f in self.fields if f.attname in positions]
        self.defaults = plan.defaults
        self.default_makers = [_default_maker(f) for f in plan.defaults]
        self.pk_in_file = self.model._meta.pk.attname in positions
        self.fast_init = not (
            signals.pre_init.has_listeners(self.model)
            or signals.post_init.has_listeners(self.model)
        )
        self.update_fields = update_fields(plan)
        self._foreign_keys: str | None = None
        self._upsert_table = f"exports_upsert_{uuid.uuid4().hex[:12]}"
        self._immediate = False

    # Row values in the order of ``self.fields``.

    def values(self, row: Row) -> list[Any]:
        values = [row.values[p] for p in self.positions]
        if self.default_makers:
            values.extend(make() for make in self.default_makers)
        return values

    def instances(self, rows: Sequence[Row], *, with_pk: bool = False) -> list[models.Model]:
        model = self.model
        attnames = self.attnames
        pk = model._meta.pk.attname
        out = []
        if self.fast_init:
            new = model.__new__
            for row in rows:
                obj = new(model)
                state = ModelState()
                data = dict(zip(attnames, self.values(row), strict=True))
                if with_pk:
                    data[pk] = row.pk
                else:
                    data.setdefault(pk, None)
                obj.__dict__.update(data, _state=state)
                out.append(obj)
        else:
            for row in rows:
                data = dict(zip(attnames, self.values(row), strict=True))
                if with_pk:
                    data[pk] = row.pk
                out.append(model(**data))
        return out

    # Writing.

    def write(self, rows: list[Row]) -> tuple[int, int]:
        """Write a batch; return ``(created, updated)``. Rows the database refuses get errors."""
        if not rows:
            return 0, 0
        try:
            with transaction.atomic(using=self.using):
                result = self._write(rows)
        except DatabaseError:
            return self._write_one_by_one(rows)
        return result

    def _write(self, rows: list[Row]) -> tuple[int, int]:
        method = self.strategy.write
        manager = self.model._base_manager.using(self.using)
        if method is WriteMethod.COPY:
            self._copy(rows)
        elif method is WriteMethod.BULK_CREATE:
            manager.bulk_create(self.instances(rows))
        elif method is WriteMethod.BULK_UPDATE:
            manager.bulk_update(self.instances(rows, with_pk=True), self.update_fields)
            return 0, len(rows)
        elif method is WriteMethod.COPY_UPSERT:
            self._copy_upsert(rows)
        else:
            manager.bulk_create(
                self.instances(rows),
                update_conflicts=True,
                unique_fields=[f.name for f in self.plan.key],
                update_fields=self.update_fields or None,
            )
        if self.plan.mode == "create":
            return len(rows), 0
        updated = sum(1 for r in rows if r.pk is not None)
        return len(rows) - updated, updated

    def _copy_upsert(self, rows: list[Row]) -> None:
        """What ``bulk_create(update_conflicts=True)`` does, through COPY.

        The batch is copied into a temporary table with the written columns, then
        ``INSERT ... SELECT ... ON CONFLICT (<key>) DO UPDATE`` moves it over. Django's own
        bulk insert sends each column as an array that psycopg quotes in Python: most of an
        upsert's time. The temporary table lasts until the transaction ends (a batch's, in
        skip mode) and is emptied after each batch.
        """
        quote: Callable[[Any], str] = self.connection.ops.quote_name  # columns: str here
        table = quote(self.model._meta.db_table)
        temporary = quote(self._upsert_table)
        columns = ", ".join(quote(f.column) for f in self.fields)
        key = ", ".join(quote(f.column) for f in self.plan.key)
        by_name = {f.name: f for f in self.fields}
        updates = ", ".join(
            f"{quote(by_name[name].column)} = EXCLUDED.{quote(by_name[name].column)}"
            for name in self.update_fields
        )
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {temporary} ON COMMIT DROP"
                f" AS SELECT {columns} FROM {table} WITH NO DATA"
            )
            self._copy(rows, table=self._upsert_table)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temporary}"
                f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"TRUNCATE {temporary}")

    def _write_one_by_one(self, rows: list[Row]) -> tuple[int, int]:
        created = updated = 0
        for row in rows:
            try:
                with transaction.atomic(using=self.using):
                    c, u = self._write([row])
            except DatabaseError as exc:
                message = DATABASE_REJECTED.format(error=str(exc).strip().splitlines()[0])
                row.errors.append(RowError(row.line, "", message))
                continue
            created += c
            updated += u
        return created, updated

    @property
    def moves_sequence(self) -> bool:
        """Whether new rows take ids from the file that the pk's sequence has not given."""
        pk = self.model._meta.pk
        return self.pk_in_file and is_auto(pk) and self.connection.vendor == "postgresql"

    def reset_sequence(self) -> None:
        """Move the pk's sequence past the table's largest id; forward only, never back.

        Call it after the rows are committed: ``setval`` is not undone by a rollback, so a
        dry run (or a rolled-back import) of the id 9223372036854775807 would otherwise
        leave every later insert failing. Forward only: another session may hold ids from
        the sequence above this table's visible maximum (rows not committed yet), and moving
        the sequence back below them would hand them out again. (SQLite's AUTOINCREMENT
        counter is a table, rolled back with the rows: nothing to do there.)
        """
        if not self.moves_sequence:
            return
        quote: Callable[[Any], str] = self.connection.ops.quote_name
        table = self.model._meta.db_table
        column = self.model._meta.pk.column
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(s.name, m.top)"
                " FROM (SELECT pg_get_serial_sequence(%s, %s) AS name) s,"
                f" (SELECT MAX({quote(column)}) AS top FROM {quote(table)}) m"
                " WHERE s.name IS NOT NULL"
                " AND m.top > COALESCE(pg_sequence_last_value(s.name::regclass), 0)",
                [quote(table), column],
            )

    def stream(self, rows: Iterable[Row]) -> int:
        """COPY ``rows`` as they come, leaving the unique and foreign-key checks to PostgreSQL.

        The rows are bound while PostgreSQL inserts the ones before them (psycopg sends as
        its buffer fills), so the database's work overlaps Python's instead of following
        it. The foreign keys of the table are made IMMEDIATE for the statement (unless the
        caller holds :meth:`immediate_foreign_keys` around many), so a missing key fails it
        here rather than at COMMIT. On a DatabaseError the caller rolls back to its
        savepoint and checks the rows itself to say which ones are wrong. Returns how many
        rows were written.
        """
        with contextlib.ExitStack() as stack:
            if not self._immediate:
                stack.enter_context(self.immediate_foreign_keys())
            count = self._copy(rows)
        return count

    @contextlib.contextmanager
    def immediate_foreign_keys(self) -> Iterator[None]:
        """Make the table's deferred foreign keys IMMEDIATE inside, and DEFERRED again after.

        Only inside a transaction (SET CONSTRAINTS lasts until its end). Each SET costs a
        few milliseconds, so a caller writing many batches in one transaction holds this
        around all of them.
        """
        constraints = self._deferred_foreign_keys()
        if not constraints or self._immediate:
            yield
            return
        with self.connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {constraints} IMMEDIATE")
        self._immediate = True
        try:
            yield
        finally:
            self._immediate = False
            with (
                contextlib.suppress(DatabaseError),  # an aborted transaction rolls back anyway
                self.connection.cursor() as cursor,
            ):
                cursor.execute(f"SET CONSTRAINTS {constraints} DEFERRED")

    def _deferred_foreign_keys(self) -> str:
        """The table's deferred foreign-key constraints, quoted and joined (cached)."""
        if self._foreign_keys is None:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass"
                    " AND contype = 'f' AND condeferrable AND condeferred ORDER BY conname",
                    [self.connection.ops.quote_name(self.model._meta.db_table)],
                )
                names = [self.connection.ops.quote_name(n) for (n,) in cursor.fetchall()]
            self._foreign_keys = ", ".join(names)
        return self._foreign_keys

    def _copy(self, rows: Iterable[Row], *, table: str | None = None) -> int:
        """COPY ``rows`` (any iterable: they may still be being bound); return the count.

        psycopg sends the data as its buffer fills, so PostgreSQL inserts while the
        iterable produces the next rows.
        """
        from psycopg import sql

        from_file = len(self.fields) - len(self.defaults)
        prepared = [
            (index, prepare)
            for index, prepare in enumerate(
                self._copy_preparer(f, from_file=i < from_file) for i, f in enumerate(self.fields)
            )
            if prepare is not None
        ]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table or self.model._meta.db_table),
            sql.SQL(", ").join([sql.Identifier(cast(str, f.column)) for f in self.fields]),
        )
        # The row's own list when it holds every written field in order (no copy needed).
        as_is = self.positions == list(range(len(self.plan.targets))) and not self.defaults
        values = self.values
        count = 0
        self.connection.ensure_connection()
        with (
            self.connection.wrap_database_errors,
            self.connection.cursor() as cursor,
            cursor.cursor.copy(statement) as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                count += 1
                out = row.values if as_is else values(row)
                if prepared:
                    out = out.copy() if out is row.values else out  # the row keeps its values
                    for index, prepare in prepared:
                        value = out[index]
                        if value is not None:
                            out[index] = prepare(value)
                write_row(out)
        return count

    def _copy_preparer(self, field: models.Field, *, from_file: bool):
        internal = field.get_internal_type()
        if internal in _COPY_AS_IS or (field.is_relation and not hasattr(field, "from_db_value")):
            if field.is_relation:
                target = cast(Any, field).target_field
                if target.get_internal_type() not in _COPY_AS_IS:
                    return lambda v: target.get_db_prep_save(v, self.connection)
            return None
        if internal == "JSONField":
            if from_file and self.strategy.json_text and keeps_json_text(field):
                return None  # the binder kept the file's text
            encoder = getattr(field, "encoder", None)
            return lambda v: json.dumps(v, cls=encoder)
        return lambda v: field.get_db_prep_save(v, self.connection)


def _default_maker(field: models.Field):
    """What a new row takes for a field the file does not have (as ``Model()`` would)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        if isinstance(field, models.DateTimeField):
            return timezone.now
        if isinstance(field, models.DateField):
            return lambda: timezone.now().date()
        return lambda: timezone.now().time()
    if field.has_default() and callable(field.default):
        return field.get_default
    constant = field.get_default()
    if isinstance(constant, dict | list):
        return field.get_default
    return lambda: constant
