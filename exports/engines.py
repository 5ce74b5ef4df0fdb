"""How rows leave the database: the batching strategy, chosen explicitly in one place.

- ``cursor``: ``values_list().iterator(chunk_size=...)`` inside ``transaction.atomic()``. On
  PostgreSQL that is a server-side cursor declared WITHOUT HOLD, so the server streams rows
  (outside a transaction Django declares it WITH HOLD and PostgreSQL materialises the whole
  result first). On SQLite it is an open cursor read with ``fetchmany``.
- ``keyset``: ``pk > last ORDER BY pk LIMIT n`` (never OFFSET), one short query per batch and no
  long-lived cursor or transaction: for SQLite (writers are not blocked between batches) and for
  PostgreSQL behind pgbouncer in transaction mode (``DISABLE_SERVER_SIDE_CURSORS``). Other
  orderings page on the whole ordering key, ``(a, pk) > (last_a, last_pk)``, each item in its own
  direction, on field paths, annotations and expressions alike (see :func:`keyset_keys`). NULLs
  are compared where the database sorts them (``IS NULL`` branches in the predicate), so
  nullable orderings page too.
- ``copy``: PostgreSQL's ``COPY (<the compiled queryset>) TO STDOUT (FORMAT csv)``, with every
  column wrapped in the SQL that prints its canonical text form (:mod:`exports.kinds`), so the
  server writes the CSV; for JSON Lines the SQL builds each whole line (:class:`JSONLine`).
  Every built-in field kind; not a text-kind field whose values are not plain strings.
- ``auto``: ``copy`` where it applies, else ``cursor`` on PostgreSQL (``keyset`` when server-side
  cursors are disabled: without them Django's iterator would fetch the whole result into
  client memory, so an ordering keyset cannot page is refused there). On other databases
  ``keyset`` whenever it can page the ordering, else ``cursor``; but on SQLite an export paced
  by a client (``client_paced``: a download) is refused instead of served by ``cursor``,
  because an open cursor keeps a read lock that, in SQLite's default rollback-journal mode,
  makes every write fail ("database is locked") for as long as the client stalls. For the
  same reason a client-paced export on SQLite refuses an explicit ``cursor``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, transaction
from django.db.models import F, Func, TextField

from .columns import Column
from .errors import ExportError
from .expressions import SQLTemplate
from .formats import Writer
from .keyset import iter_keyset_batches as iter_keyset_batches  # the stream calls it here
from .keyset import keyset_keys
from .kinds import Kind, is_plain_text, kind_of, postgresql_sql, target_of
from .textforms import FORMULA_SQL, JSON_FORMULA_SQL

ENGINES = ("auto", "cursor", "keyset", "copy")

UNKNOWN_ENGINE = 'Unknown engine "{name}"; choose one of: {choices}.'
COPY_NEEDS_POSTGRES = "The copy engine needs PostgreSQL; this database is {vendor}."
COPY_FORMAT = "The copy engine writes csv, tsv and jsonl only, not {format}."
COPY_COLUMN = (
    'The copy engine cannot print column "{path}" ({kind}) in its canonical form; '
    "use --engine cursor or keyset."
)
COPY_DELIMITER = (
    "The copy engine needs a one-byte (ASCII) delimiter, not {delimiter!r}; "
    "use --engine cursor or keyset."
)
KEYSET_ORDER = (
    "The keyset engine cannot page on the ordering {ordering} (random order, an aggregate, or "
    "a relation sorted by its model's Meta.ordering); use --engine cursor."
)
NO_STREAMING_ENGINE = (
    "Server-side cursors are disabled for database {using!r} and the keyset engine cannot "
    "page on the ordering {ordering} (random order, an aggregate, or a relation sorted by its "
    "model's Meta.ordering), so no engine can stream this export; order by fields or the "
    "primary key."
)
NO_LOCK_FREE_ENGINE = (
    "This export cannot be ordered by {ordering} on {vendor}: only the keyset engine reads "
    "without holding a lock while the client downloads, and it cannot page on that ordering "
    "(random order, an aggregate, or a relation sorted by its model's Meta.ordering); order "
    "by fields or the primary key."
)
CURSOR_HOLDS_LOCK = (
    "The cursor engine keeps a read lock on {vendor} for the whole transfer, which blocks every "
    "write while a client downloads slowly; downloads use the keyset engine (engine auto or "
    "keyset)."
)


def _copy_template(column: Column, escape_formulas: bool) -> str | None:
    """The SQL printing ``column`` in canonical text (:mod:`exports.kinds`), or None where SQL
    cannot match Python: a text-kind field whose values are not plain strings (a custom field,
    an ArrayField...), whose database text need not be ``str(value)``."""
    kind = kind_of(column.field)
    if kind is Kind.TEXT and not is_plain_text(column.field):
        if target_of(column.field).get_internal_type() in INET_TYPES:
            # inet's own text (what the driver hands Django): no "/32" for a host, as the
            # ::text cast would add. An address holds no formula sign or cell break.
            return "abbrev({0})"
        return None
    if escape_formulas and kind is Kind.JSON:
        return JSON_FORMULA_SQL
    if escape_formulas and kind is Kind.TEXT:
        return FORMULA_SQL
    return postgresql_sql(kind)


# Django's IP address fields: inet on PostgreSQL.
INET_TYPES = frozenset({"GenericIPAddressField", "IPAddressField"})
# Kinds whose COPY output is their canonical text already (no session setting changes it, as
# DateStyle changes dates'): casting them to text first would only cost time.
COPY_AS_IS = frozenset({Kind.INTEGER, Kind.DECIMAL, Kind.UUID})


def _copy_cell_template(column: Column, escape_formulas: bool) -> str:
    if kind_of(column.field) in COPY_AS_IS:
        return "{0}"
    return _copy_template(column, escape_formulas) or "{0}"


# JSON Lines (formats/jsonl.py): integers, finite floats and booleans are bare JSON, non-finite
# floats a string of their text, JSON its canonical text, every other kind a JSON string of its
# canonical text. PostgreSQL's to_json escapes text as json.encoder.encode_basestring does.
_RAW_JSON_KINDS = frozenset({Kind.INTEGER, Kind.BOOLEAN, Kind.JSON})
_PG_JSON_FLOAT = (
    "CASE WHEN ({0}) = 'NaN'::float8 THEN '\"nan\"'"
    " WHEN ({0}) = 'Infinity'::float8 THEN '\"inf\"'"
    " WHEN ({0}) = '-Infinity'::float8 THEN '\"-inf\"' ELSE "
)


def postgresql_json_sql(kind: Kind, text_sql: str) -> str:
    """The PostgreSQL template printing a non-NULL value's JSON Lines text, given the SQL that
    prints its canonical text (``text_sql``: :func:`postgresql_sql`, or its formula twin)."""
    if kind in _RAW_JSON_KINDS:
        return text_sql
    if kind is Kind.FLOAT:
        return f"{_PG_JSON_FLOAT}{text_sql} END"
    return f"to_json(({text_sql})::text)::text"


class JSONLine(Func):
    """One JSON Lines line (without its line break) built in SQL from the columns' values, as
    ``formats.jsonl`` writes it: ``{"label": value, ...}``, ``null`` for NULL."""

    output_field = TextField()

    def __init__(self, columns: Sequence[Column], escape_formulas: bool) -> None:
        super().__init__(*(F(c.path) for c in columns))
        self.labels = [encode_basestring(c.label) + ": " for c in columns]
        self.templates = [
            postgresql_json_sql(kind_of(c.field), _copy_template(c, escape_formulas) or "{0}")
            for c in columns
        ]

    def as_sql(self, compiler, connection, **extra_context):  # noqa: ARG002
        pieces: list[str] = []
        params: list[Any] = []
        for i, (expression, label, template) in enumerate(
            zip(self.source_expressions, self.labels, self.templates, strict=True)
        ):
            sql, column_params = compiler.compile(expression)
            pieces.append("%s")
            params.append(("{" if i == 0 else ", ") + label)
            pieces.append(f"coalesce({template.format(sql)}, 'null')")
            params.extend(tuple(column_params) * template.count("{0}"))
        pieces.append("'}'")
        return "(" + " || ".join(pieces) + ")", tuple(params)


def copy_unsupported_reason(columns: Sequence[Column], writer: Writer, vendor: str) -> str | None:
    """Why the copy engine cannot serve this request, or None when it can."""
    if vendor != "postgresql":
        return COPY_NEEDS_POSTGRES.format(vendor=vendor)
    if not writer.copy_lines:
        if writer.copy_delimiter is None:
            return COPY_FORMAT.format(format=writer.name)
        if not writer.copy_delimiter.isascii():
            # PostgreSQL refuses it ("COPY delimiter must be a single one-byte character").
            return COPY_DELIMITER.format(delimiter=writer.copy_delimiter)
    for column in columns:
        if _copy_template(column, writer.escape_formulas) is None:
            return COPY_COLUMN.format(path=column.path, kind=kind_of(column.field))
    return None


def choose_engine(
    requested: str,
    *,
    using: str,
    model: type[models.Model],
    columns: Sequence[Column],
    writer: Writer,
    ordering: Sequence[Any],
    annotations: Mapping[str, Any] | None = None,
    client_paced: bool = False,
) -> str:
    """Resolve ``requested`` (one of :data:`ENGINES`) to a concrete engine, or raise ExportError.

    ``client_paced``: the transfer goes as fast as a client reads it (a download), so on SQLite
    no engine that holds a read lock between batches may serve it (module docstring).
    """
    if requested not in ENGINES:
        raise ExportError(UNKNOWN_ENGINE.format(name=requested, choices=", ".join(ENGINES)))
    connection = connections[using]
    vendor = connection.vendor
    keys = keyset_keys(model, ordering, annotations=annotations)
    shown = ", ".join(map(str, ordering))
    if requested == "copy":
        reason = copy_unsupported_reason(columns, writer, vendor)
        if reason:
            raise ExportError(reason)
        return "copy"
    if requested == "keyset":
        if keys is None:
            raise ExportError(KEYSET_ORDER.format(ordering=shown))
        return "keyset"
    if requested == "cursor":
        if client_paced and vendor == "sqlite":
            raise ExportError(CURSOR_HOLDS_LOCK.format(vendor=connection.display_name))
        return "cursor"
    # auto
    if vendor == "postgresql":
        if copy_unsupported_reason(columns, writer, vendor) is None:
            return "copy"
        if not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
            return "cursor"
        if keys is None:
            raise ExportError(NO_STREAMING_ENGINE.format(using=using, ordering=shown))
        return "keyset"
    if keys is not None:
        return "keyset"
    if client_paced and vendor == "sqlite":
        raise ExportError(
            NO_LOCK_FREE_ENGINE.format(ordering=shown, vendor=connection.display_name)
        )
    return "cursor"


def iter_cursor_batches(
    queryset: models.QuerySet,
    exprs: Sequence[Any],
    *,
    chunk_size: int,
    limit: int | None,
    idle_timeout: float | None = None,
) -> Iterator[list[tuple]]:
    """``idle_timeout`` (seconds, PostgreSQL): the server ends the session if the transaction
    sits idle that long between two fetches (``idle_in_transaction_session_timeout``)."""
    qs = queryset.values_list(*exprs)
    if limit is not None:
        qs = qs[:limit]
    using = queryset.db
    # The transaction is what makes PostgreSQL stream: see the module docstring.
    with transaction.atomic(using=using):
        if idle_timeout and connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                    [str(round(idle_timeout * 1000))],
                )
        rows = qs.iterator(chunk_size=chunk_size)
        try:
            while batch := list(islice(rows, chunk_size)):
                yield batch
        finally:
            # Closes the server-side cursor at once when the consumer stops early.
            rows.close()  # type: ignore[attr-defined]  # a generator


def iter_copy_chunks(
    queryset: models.QuerySet,
    columns: Sequence[Column],
    writer: Writer,
    *,
    chunk_size: int,
    limit: int | None,
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes, rows)`` chunks of PostgreSQL's own CSV for the compiled queryset."""
    from psycopg import sql

    if writer.copy_lines:
        exprs: list[Any] = [JSONLine(columns, writer.escape_formulas)]
        # Lines are copied as they are: no JSON text holds a raw \x01 or \x02 (JSON escapes
        # control characters), so no field is ever quoted or split.
        options = sql.SQL("FORMAT csv, DELIMITER {}, QUOTE {}").format(
            sql.Literal("\x01"), sql.Literal("\x02")
        )
    else:
        exprs = [
            SQLTemplate(F(c.path), _copy_cell_template(c, writer.escape_formulas)) for c in columns
        ]
        options = sql.SQL("FORMAT csv, DELIMITER {}").format(sql.Literal(writer.copy_delimiter))
    qs = queryset.values_list(*exprs)
    if limit is not None:
        qs = qs[:limit]
    using = queryset.db
    connection = connections[using]
    try:
        select, params = qs.query.get_compiler(using=using).as_sql()
    except EmptyResultSet:
        # Django knows no row can match (``.none()``, ``[:0]``, ``pk__in=[]``): nothing to copy.
        return
    ops: Any = connection.ops  # PostgreSQL's operations: compose_sql
    statement = sql.SQL("COPY ({}) TO STDOUT ({})").format(
        sql.SQL(ops.compose_sql(select, params)), options
    )
    # Closing the generator early cancels the COPY, which aborts the transaction it runs in;
    # the atomic block (a savepoint when nested) confines that, so the connection stays usable.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # The float SQL needs shortest round-trip digits (exports.kinds): the default since
        # PostgreSQL 12, unless a role, database or session turned them off.
        cursor.execute(
            "SELECT set_config('extra_float_digits', '1', true)"
            " WHERE current_setting('extra_float_digits')::int < 1"
        )
        yield from _copy_rows(cursor, statement, chunk_size)


def _copy_rows(cursor, statement, chunk_size: int) -> Iterator[tuple[bytes, int]]:
    with cursor.cursor.copy(statement) as copy:
        # libpq hands over COPY data one row at a time.
        buffer: list[memoryview] = []
        for row in copy:
            buffer.append(row)
            if len(buffer) >= chunk_size:
                yield b"".join(buffer), len(buffer)
                buffer.clear()
        if buffer:
            yield b"".join(buffer), len(buffer)
