"""Checks that need the database, made once per batch (never once per row).

- foreign keys: one query per foreign-key column per batch (by primary key, or by a unique
  field of the related model, which is replaced by the key it names);
- unique fields: duplicates inside the batch, then one query per unique field (or unique set)
  per batch for rows that already exist;
- keys seen earlier in the same file (update and upsert): a temporary table holds them, so
  memory stays bounded whatever the file size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connections, models

from .errors import (
    ALREADY_EXISTS,
    DOES_NOT_EXIST,
    DUPLICATE_IN_FILE,
    RELATED_MISMATCH,
    UNKNOWN_RELATED,
    RowError,
)
from .plan import Plan, Target, unique_sets

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


def resolve_foreign_keys(plan: Plan, rows: list[Row], *, using: str) -> None:
    """Check every foreign key of the batch exists; replace lookups by the key they name."""
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
            related = target.field.related_model
            field = target.lookup or target.field.target_field
            wanted = {r.values[position] for r in live}
            manager = related._base_manager.using(using)
            found = dict(
                manager.filter(**{f"{field.attname}__in": wanted}).values_list(
                    field.attname, target.field.target_field.attname
                )
            )
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


def key_of(row: Row, positions: Sequence[int]) -> tuple:
    return tuple(row.values[p] for p in positions)


def file_unique_sets(plan: Plan) -> list[tuple[tuple[models.Field, ...], list[int], str]]:
    """Unique sets whose fields are all in the file: (fields, positions, column name)."""
    where: dict[str, int] = {}
    for index, target in enumerate(plan.targets):
        if target.lookup is None or target.field.attname not in where:
            where.setdefault(target.field.attname, index)
    out = []
    for fields in unique_sets(plan.model):
        if all(f.attname in where for f in fields):
            positions = [where[f.attname] for f in fields]
            out.append((fields, positions, plan.targets[positions[0]].name))
    return out


def check_batch_duplicates(plan: Plan, rows: list[Row]) -> None:
    """A unique value seen twice in the batch: the second row is an error."""
    for fields, positions, column in file_unique_sets(plan):
        first: dict[tuple, int] = {}
        for row in rows:
            if row.errors:
                continue
            key = key_of(row, positions)
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
    head = fields[0].attname
    names = [f.attname for f in fields]
    pk = model._meta.pk.attname
    qs = model._base_manager.using(using).filter(**{f"{head}__in": {k[0] for k in keys}})
    found = {}
    for values in qs.values_list(*names, pk):
        key = tuple(values[:-1])
        if key in keys:
            found[key] = values[-1]
    return found


def check_existing_for_create(plan: Plan, rows: list[Row], *, using: str) -> None:
    """In create mode, a row whose unique value is already in the table is an error."""
    label = plan.model._meta.label
    for fields, positions, column in file_unique_sets(plan):
        live = [r for r in rows if not r.errors]
        keys = {k for k in (key_of(r, positions) for r in live) if None not in k}
        found = existing(plan.model, fields, keys, using=using)
        if not found:
            continue
        for row in live:
            key = key_of(row, positions)
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

    In update mode a key that does not exist is an error.
    """
    positions = [_position(plan, f) for f in plan.key]
    live = [r for r in rows if not r.errors]
    keys = {key_of(r, positions) for r in live}
    found = existing(plan.model, plan.key, keys, using=using)
    column = plan.targets[positions[0]].name
    count = 0
    for row in live:
        key = key_of(row, positions)
        if key in found:
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

    def check_and_add(self, rows: list[Row]) -> None:
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
            for start in range(0, len(new), IN_CHUNK // 2):
                part = new[start : start + IN_CHUNK // 2]
                marks = ", ".join(["(%s, %s)"] * len(part))
                params = [x for pair in part for x in pair]
                cursor.execute(f"INSERT INTO {quoted} (k, line) VALUES {marks}", params)
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
