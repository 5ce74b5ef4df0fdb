"""Checks that need the database, made once per batch (never once per row).

- foreign keys: one query per foreign-key column per batch (by primary key, or by a unique
  field of the related model, which is replaced by the key it names);
- unique fields: duplicates inside the batch, then one query per unique field (or unique set)
  per batch for rows that already exist (on PostgreSQL in create mode, only for a batch that
  the database refused: see :meth:`~exports.imports.loaders.Loader.stream`);
- keys seen earlier in the same file (update and upsert): a temporary table holds them, so
  memory stays bounded whatever the file size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, models

from ..kinds import INTEGER_TYPES
from .errors import (
    ALREADY_EXISTS,
    DOES_NOT_EXIST,
    DUPLICATE_IN_FILE,
    KEY_IS_NULL,
    RELATED_MISMATCH,
    UNKNOWN_RELATED,
    RowError,
)
from .plan import Plan, Target

IN_CHUNK = 900  # parameters per IN list (SQLite's historical limit is 999)


class Row:
    """A bound row in a batch: its line, original text, values (one per plan target)."""

    __slots__ = ("line", "raw", "values", "errors", "pk")

    def __init__(self, line: int, raw: str, values: list[Any]) -> None:
        self.line = line
        self.raw = raw
        self.values = values
        self.errors: list[RowError] = []
        self.pk: Any = None


def _show(values: tuple) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _fields_label(fields: Sequence[models.Field]) -> str:
    return ", ".join(f.name for f in fields)


def resolve_foreign_keys(plan: Plan, rows: list[Row], *, using: str, carried: Any = None) -> None:
    """Check every foreign key of the batch exists; replace lookups by the key they name.

    ``carried`` (:class:`~exports.imports.carried.CarriedKeys`): rows of this same table
    that a dry run wrote and rolled back, which count as existing.
    """
    by_field: dict[str, list[Target]] = {}
    for target in plan.targets:
        if target.field.is_relation:
            by_field.setdefault(target.field.attname, []).append(target)
    positions = {t: i for i, t in enumerate(plan.targets)}
    for targets in by_field.values():
        direct = next((t for t in targets if t.lookup is None), None)
        for target in targets:
            position = positions[target]
            live = [r for r in rows if not r.errors and r.values[position] is not None]
            if not live:
                continue
            relation: Any = target.field  # a foreign key (its related model and target)
            related = relation.related_model
            field = target.lookup or relation.target_field
            wanted = {r.values[position] for r in live}
            found = dict(
                select_in(
                    related,
                    field,
                    wanted,
                    [field, relation.target_field],
                    using=using,
                )
            )
            if carried is not None and related is plan.model:
                found.update(carried.find_related(field, wanted - found.keys()))
            for row in live:
                value = row.values[position]
                if value not in found:
                    row.errors.append(
                        RowError(
                            row.line,
                            target.name,
                            UNKNOWN_RELATED.format(
                                model=related._meta.label, field=field.name, value=f'"{value}"'
                            ),
                        )
                    )
                elif target.lookup is not None:
                    key = found[value]
                    if direct is not None:
                        own = row.values[positions[direct]]
                        if own is not None and own != key:
                            row.errors.append(
                                RowError(
                                    row.line,
                                    target.name,
                                    RELATED_MISMATCH.format(
                                        lookup=target.name,
                                        pk_column=direct.name,
                                        model=related._meta.label,
                                    ),
                                )
                            )
                    row.values[position] = key


# Field types whose Python values psycopg sends, and whose column values it returns, as they
# are: a lookup on them can skip the ORM (and its one-parameter-per-value IN list).
NATIVE_TYPES = frozenset(
    {
        *INTEGER_TYPES,
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
        "UUIDField",
        "DateField",
    }
)


def _native(field: models.Field) -> bool:
    if field.is_relation:
        field = cast(Any, field).target_field
    # Django's own field classes only: a subclass may prepare its values (lower-case an
    # email, say) in get_prep_value, which the ORM applies and a raw query would not.
    return (
        field.get_internal_type() in NATIVE_TYPES
        and type(field).__module__.startswith("django.db.models.")
        and not hasattr(field, "from_db_value")
    )


def select_in(
    model: type[models.Model],
    field: models.Field,
    wanted: set,
    columns: Sequence[models.Field],
    *,
    using: str,
) -> Any:
    """Rows of ``model`` whose ``field`` is one of ``wanted``, as tuples of ``columns``.

    On PostgreSQL, for plain field types, one ``= ANY(%s)`` with the values as one array:
    for a 5,000-row batch the ORM's ``__in`` costs more Python time (a placeholder, a
    parameter and a client-side quote each) than the database spends on the lookup.
    """
    connection = connections[using]
    if connection.vendor == "postgresql" and all(_native(f) for f in (field, *columns)):
        quote = connection.ops.quote_name
        sql = "SELECT {} FROM {} WHERE {} = ANY(%s::{}[])".format(
            ", ".join(quote(cast(str, f.column)) for f in columns),
            quote(model._meta.db_table),
            quote(cast(str, field.column)),
            field.db_type(connection),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [_array_literal(wanted)])
            return cursor.fetchall()
    manager = model._base_manager.using(using)
    return manager.filter(**{f"{field.attname}__in": wanted}).values_list(
        *(f.attname for f in columns)
    )


def _array_literal(values: set) -> str:
    """A PostgreSQL array literal of ``values`` (ints, strings, UUIDs or dates).

    One text parameter instead of a list: psycopg's client-side list adapter is pure Python.
    """
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(_array_element(str(v)) for v in values) + "}"


def _array_element(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_of(row: Row, positions: Sequence[int]) -> tuple:
    return tuple(row.values[p] for p in positions)


def _keys(rows: list[Row], positions: Sequence[int]) -> list[tuple]:
    """The key of each row, in order (one list comprehension: this runs per batch)."""
    if len(positions) == 1:
        (p,) = positions
        return [(r.values[p],) for r in rows]
    return [tuple(r.values[p] for p in positions) for r in rows]


def check_batch_duplicates(plan: Plan, rows: list[Row]) -> None:
    """A unique value seen twice in the batch: the second row is an error."""
    for fields, positions, column in plan.file_unique_sets:
        live = [r for r in rows if not r.errors]
        keys = _keys(live, positions)
        if len(set(keys)) == len(keys):
            continue  # the common case: no key twice (NULLs are all different anyway)
        first: dict[tuple, int] = {}
        for row, key in zip(live, keys, strict=True):
            if None in key:
                continue
            if key in first:
                row.errors.append(
                    RowError(
                        row.line,
                        column,
                        DUPLICATE_IN_FILE.format(
                            fields=_fields_label(fields), value=_show(key), first=first[key]
                        ),
                    )
                )
            else:
                first[key] = row.line


def existing(
    model: type[models.Model],
    fields: Sequence[models.Field],
    keys: set[tuple],
    *,
    using: str,
) -> dict[tuple, Any]:
    """Which of ``keys`` (values of ``fields``) exist: key -> primary key. One query."""
    if not keys:
        return {}
    found = {}
    wanted = {k[0] for k in keys}
    for values in select_in(model, fields[0], wanted, [*fields, model._meta.pk], using=using):
        key = tuple(values[:-1])
        if key in keys:
            found[key] = values[-1]
    return found


def check_existing_for_create(
    plan: Plan, rows: list[Row], *, using: str, carried: Any = None
) -> None:
    """In create mode, a row whose unique value is already in the table is an error.

    ``carried``: as for :func:`resolve_foreign_keys`, keys that count as written.
    """
    label = plan.model._meta.label
    for index, (fields, positions, column) in enumerate(plan.file_unique_sets):
        live = [r for r in rows if not r.errors]
        keys = _keys(live, positions)
        wanted = set(keys)
        wanted.discard((None,) * len(positions))
        if len(positions) > 1:
            wanted = {k for k in wanted if None not in k}
        found = existing(plan.model, fields, wanted, using=using)
        if carried is not None:
            found.update(carried.find(index, wanted - found.keys()))
        if not found:
            continue
        for row, key in zip(live, keys, strict=True):
            if key in found:
                row.errors.append(
                    RowError(
                        row.line,
                        column,
                        ALREADY_EXISTS.format(
                            model=label, fields=_fields_label(fields), value=_show(key)
                        ),
                    )
                )


def match_keys(plan: Plan, rows: list[Row], *, using: str) -> int:
    """For update and upsert: set ``row.pk`` of rows whose key exists; return how many do.

    In update mode a key that does not exist is an error; in both a key with a NULL is one
    (NULL equals nothing: it would update no row, and insert a new one at each upsert).
    """
    positions = [_position(plan, f) for f in plan.key]
    live = [r for r in rows if not r.errors]
    keys = {key_of(r, positions) for r in live}
    found = existing(plan.model, plan.key, {k for k in keys if None not in k}, using=using)
    column = plan.targets[positions[0]].name
    count = 0
    for row in live:
        key = key_of(row, positions)
        if None in key:
            message = KEY_IS_NULL.format(fields=_fields_label(plan.key))
            row.errors.append(RowError(row.line, column, message))
        elif key in found:
            row.pk = found[key]
            count += 1
        elif plan.mode == "update":
            row.errors.append(
                RowError(
                    row.line,
                    column,
                    DOES_NOT_EXIST.format(
                        model=plan.model._meta.label,
                        fields=_fields_label(plan.key),
                        value=_show(key),
                    ),
                )
            )
    return count


def _position(plan: Plan, field: models.Field) -> int:
    for index, target in enumerate(plan.targets):
        if target.field.attname == field.attname and target.lookup is None:
            return index
    raise LookupError(field.name)  # pragma: no cover  (build_plan checked it)


class SeenKeys:
    """Keys written earlier in this import, in a temporary table (bounded memory)."""

    def __init__(self, plan: Plan, *, using: str) -> None:
        self.plan = plan
        self.using = using
        self.positions = [_position(plan, f) for f in plan.key]
        self.column = plan.targets[self.positions[0]].name
        self.table = f"exports_import_seen_{uuid.uuid4().hex[:12]}"
        self.created = False
        self.last_added: list[tuple[str, int]] = []

    def create(self) -> None:
        connection = connections[self.using]
        quoted = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {quoted} (k text PRIMARY KEY, line bigint)")
        self.created = True

    def drop(self) -> None:
        if not self.created:
            return
        connection = connections[self.using]
        if connection.connection is None:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(self.table)}")
        self.created = False

    def _insert(self, cursor: Any, new: list[tuple[str, int]]) -> None:
        quoted = connections[self.using].ops.quote_name(self.table)
        for start in range(0, len(new), IN_CHUNK // 2):
            part = new[start : start + IN_CHUNK // 2]
            marks = ", ".join(["(%s, %s)"] * len(part))
            params = [x for pair in part for x in pair]
            cursor.execute(f"INSERT INTO {quoted} (k, line) VALUES {marks}", params)

    def add_again(self) -> None:
        """Add the last batch's new keys again, after a dry run rolled that batch back."""
        if self.last_added:
            with connections[self.using].cursor() as cursor:
                self._insert(cursor, self.last_added)

    def check_and_add(self, rows: list[Row]) -> None:
        self.last_added = []
        live = [r for r in rows if not r.errors]
        if not live:
            return
        keys = {"\x1f".join(map(str, key_of(r, self.positions))): r for r in live}
        connection = connections[self.using]
        quoted = connection.ops.quote_name(self.table)
        names = list(keys)
        seen: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(names), IN_CHUNK):
                part = names[start : start + IN_CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(f"SELECT k, line FROM {quoted} WHERE k IN ({marks})", part)
                seen.update(cursor.fetchall())
            new = [(k, r.line) for k, r in keys.items() if k not in seen]
            self._insert(cursor, new)
        self.last_added = new
        label = _fields_label(self.plan.key)
        for key, row in keys.items():
            if key in seen:
                row.errors.append(
                    RowError(
                        row.line,
                        self.column,
                        DUPLICATE_IN_FILE.format(
                            fields=label,
                            value=_show(key_of(row, self.positions)),
                            first=seen[key],
                        ),
                    )
                )
