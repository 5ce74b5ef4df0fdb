"""How an import's batches are checked and written: decided once, in :func:`choose_write_strategy`.

The import counterpart of :func:`exports.engines.choose_engine`. From the plan, the database
connection and the options it picks:

- the transactions: one around everything (all-or-nothing, and every dry run), one per batch
  (``on_error="skip"``, each committed, with a checkpoint), or one per batch rolled back at
  once (a dry run on SQLite, where a writer locks the whole file: see
  :mod:`exports.imports.carried`);
- whether rows are streamed: in create mode on PostgreSQL, when the table itself enforces
  every unique set in the file and every foreign key (a constraint, not only Django's
  declaration), rows are COPYed as they are bound and PostgreSQL checks the keys; only a batch
  it refuses is rolled back to its savepoint and checked here, row by row named;
- whether streaming overlaps binding: with one transaction and no ``max_errors``, batch N+1 is
  bound while a worker thread COPYs batch N (not with checkpoints, whose reject-file offsets
  must not include the next batch's rejects, nor with ``max_errors``, whose count must include
  the batch in flight);
- how checked rows are written (:class:`WriteMethod`): COPY or ``bulk_create``, an upsert
  through COPY and a temporary table or Django's ``bulk_create(update_conflicts=True)``,
  ``bulk_update``.

Fixed parts, the same for every strategy: each batch's write runs in a savepoint; if the
database refuses it (a check constraint, a race with another writer) the batch is written
again row by row, each in a savepoint, so the row at fault is named
(:meth:`exports.imports.loaders.Loader.write`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.db import connections
from django.db.models.expressions import BaseExpression

from .plan import Plan


class Transactions(enum.Enum):
    ONE = "one"  # one transaction: all-or-nothing, or a dry run rolled back at the end
    PER_BATCH = "per-batch"  # skip mode: each batch committed, then checkpointed
    ROLLBACK_EACH = "rollback-each"  # dry run on SQLite: each batch rolled back at once


class WriteMethod(enum.Enum):
    COPY = "copy"  # COPY ... FROM STDIN (PostgreSQL, create)
    BULK_CREATE = "bulk_create"
    COPY_UPSERT = "copy_upsert"  # COPY into a temporary table, INSERT ... ON CONFLICT
    BULK_UPSERT = "bulk_upsert"  # bulk_create(update_conflicts=True)
    BULK_UPDATE = "bulk_update"


@dataclass(frozen=True)
class WriteStrategy:
    """What :func:`choose_write_strategy` decided; see the module docstring for each choice."""

    transactions: Transactions
    #: COPY rows as they are bound and let PostgreSQL check the keys (create mode).
    stream: bool
    #: Bind the next batch while a worker thread streams this one (implies ``stream``).
    overlap: bool
    #: How rows checked here are written.
    write: WriteMethod
    #: Plain JSONField values stay the file's checked text, which COPY takes as it is.
    json_text: bool
    #: PostgreSQL: make the per-batch key lookups use their unique indexes (SET LOCAL).
    index_lookups: bool
    #: SQLite: begin the outermost transaction IMMEDIATE (take the write lock before reading).
    begin_immediate: bool

    @property
    def commits_each_batch(self) -> bool:
        return self.transactions is Transactions.PER_BATCH

    @property
    def rolls_back_each_batch(self) -> bool:
        return self.transactions is Transactions.ROLLBACK_EACH


def choose_write_strategy(
    plan: Plan,
    *,
    using: str,
    text_values: bool,
    on_error: str,
    dry_run: bool,
    max_errors: int | None,
) -> WriteStrategy:
    """The strategy for ``plan`` on the database ``using``.

    ``text_values``: the reader gives text (not JSON values), so a plain JSONField's text can
    go to COPY as it is. Runs one introspection query (the table's constraints) when
    streaming is possible otherwise: create mode on PostgreSQL.
    """
    vendor = connections[using].vendor
    postgres = vendor == "postgresql"
    if dry_run and vendor == "sqlite":
        transactions = Transactions.ROLLBACK_EACH
    elif on_error == "abort" or dry_run:
        transactions = Transactions.ONE
    else:
        transactions = Transactions.PER_BATCH
    copies = postgres and can_copy(plan)
    stream = (
        plan.mode == "create"
        and copies
        and not any(t.lookup is not None for t in plan.targets)
        and table_enforces_keys(plan, using=using)
    )
    if plan.mode == "create":
        write = WriteMethod.COPY if copies else WriteMethod.BULK_CREATE
    elif plan.mode == "update":
        write = WriteMethod.BULK_UPDATE
    else:
        write = (
            WriteMethod.COPY_UPSERT if copies and update_fields(plan) else WriteMethod.BULK_UPSERT
        )
    return WriteStrategy(
        transactions=transactions,
        stream=stream,
        overlap=stream and transactions is Transactions.ONE and max_errors is None,
        write=write,
        json_text=text_values and stream,
        index_lookups=postgres,
        begin_immediate=vendor == "sqlite",
    )


def can_copy(plan: Plan) -> bool:
    """Whether COPY can write new rows: no default for a missing field is an SQL expression."""
    return not any(isinstance(f.get_default(), BaseExpression) for f in plan.defaults)


def update_fields(plan: Plan) -> list[str]:
    """The fields an update or upsert sets: every written field but the key and the pk."""
    key = {f.attname for f in plan.key}
    pk = plan.model._meta.pk.attname
    return [f.name for f in plan.written_fields() if f.attname not in key and f.attname != pk]


def table_enforces_keys(plan: Plan, *, using: str) -> bool:
    """Whether the table has a unique constraint or index for each unique set in the file and
    a foreign-key constraint for each foreign key (not so with ``db_constraint=False``, an
    unmanaged table, a migration not applied)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, plan.model._meta.db_table
        ).values()
    unique = [set(c["columns"]) for c in constraints if c["unique"]]
    foreign = {tuple(c["columns"]) for c in constraints if c["foreign_key"]}
    for fields, _positions, _column in plan.file_unique_sets:
        if {f.column for f in fields} not in unique:
            return False
    return all((t.field.column,) in foreign for t in plan.targets if t.field.is_relation)
