"""From a header line to an import plan: which column sets which field, checked up front.

Unknown, duplicate and missing required columns are reported together, in one
:class:`~exports.imports.errors.ImportFileError`, before any row is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from django.db import models
from django.db.models.fields import NOT_PROVIDED, AutoFieldMixin

from .errors import (
    DUPLICATE_COLUMNS,
    HEADER_EMPTY_NAME,
    HEADER_MISMATCH,
    KEY_NEEDED,
    KEY_NOT_IN_FILE,
    KEY_NOT_UNIQUE,
    MAP_UNKNOWN_COLUMNS,
    MISSING_COLUMNS,
    TOO_MANY_COLUMNS,
    UNKNOWN_COLUMNS,
    ImportFileError,
)

MODES = ("create", "update", "upsert")


@dataclass(frozen=True)
class Target:
    """One file column: where it is, what it is called, and the model field it sets.

    ``lookup`` is set for a foreign key given by a unique field of the related model
    (``customer__email``): the value is that field's, resolved to a key per batch.
    """

    index: int
    name: str
    path: str
    field: models.Field
    lookup: models.Field | None = None

    @property
    def value_field(self) -> models.Field:
        return self.lookup or self.field


@dataclass(frozen=True)
class Plan:
    model: type[models.Model]
    mode: str
    targets: tuple[Target, ...]
    width: int  # columns in the file
    key: tuple[models.Field, ...]
    #: Fields not in the file that a new row takes its default for (create and upsert).
    defaults: tuple[models.Field, ...]

    @property
    def label(self) -> str:
        return self.model._meta.label

    def written_fields(self) -> tuple[models.Field, ...]:
        """The fields each row sets, in order: one per field named in the file, then defaults."""
        seen: dict[str, models.Field] = {}
        for target in self.targets:
            seen.setdefault(target.field.attname, target.field)
        return (*seen.values(), *self.defaults)

    @cached_property
    def file_unique_sets(self) -> list[tuple[tuple[models.Field, ...], list[int], str]]:
        """Unique sets whose fields are all in the file: (fields, positions, column name)."""
        where: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.lookup is None or target.field.attname not in where:
                where.setdefault(target.field.attname, index)
        out = []
        for fields in unique_sets(self.model):
            if all(f.attname in where for f in fields):
                positions = [where[f.attname] for f in fields]
                out.append((fields, positions, self.targets[positions[0]].name))
        return out


def importable_field(
    model: type[models.Model], path: str
) -> tuple[models.Field, models.Field | None]:
    """Resolve ``path`` to ``(field, lookup)``; raise LookupError when it cannot be imported."""
    parts = path.split("__")
    opts = model._meta
    field = _concrete(opts, parts[0])
    if len(parts) == 1:
        return field, None
    if len(parts) != 2 or not (field.many_to_one or field.one_to_one):
        raise LookupError(path)
    relation: Any = field  # a ForeignKey or OneToOneField: checked above
    lookup = _concrete(relation.related_model._meta, parts[1])
    if lookup.primary_key or lookup == relation.target_field:
        return field, None
    if not lookup.unique:
        raise LookupError(path)
    return field, lookup


def is_declared(
    path: str, field: models.Field, lookup: models.Field | None, allowed: set[str]
) -> bool:
    """Whether a column may be imported where only the ``allowed`` paths are (the admin).

    A related model's field (``customer__email``) only when that path is declared: allowing
    it because ``customer_id`` is would let an importer probe which e-mails exist. A field
    itself under any of its names (``customer``, ``customer_id``; ``pk`` for ``id``).
    """
    if lookup is not None:
        return path in allowed
    return bool({path, field.name, field.attname} & allowed)


def _concrete(opts, name: str) -> models.Field:
    if name == "pk":
        return opts.pk
    for field in opts.concrete_fields:
        if name in (field.name, field.attname):
            if getattr(field, "generated", False):
                break
            return field
    raise LookupError(name)


def _is_generated(model: type[models.Model], path: str) -> bool:
    """Whether ``path`` names one of the model's generated columns (``GeneratedField``)."""
    for field in model._meta.concrete_fields:
        if path in (field.name, field.attname):
            return bool(getattr(field, "generated", False))
    return False


def is_required(field: models.Field) -> bool:
    """True when a new row cannot be made without a value from the file.

    A value comes from elsewhere only for a generated column (the database computes it, and
    it is never a column of the file), a nullable field, a default (Python's or the
    database's), an auto field's sequence, or ``auto_now``. A primary key with none of these
    (``IntegerField(primary_key=True)``) is required even when blank: Django's implicit
    empty-string default would give every row the same key.
    """
    if getattr(field, "generated", False) or field.null or field.has_default():
        return False
    if getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
        return False
    if is_auto(field) or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    if field.primary_key:
        return True
    return not (field.empty_strings_allowed and field.blank)


def value_target(field: models.Field) -> models.Field:
    """The field whose values ``field`` holds: itself, or for a foreign key its target's
    (followed through foreign keys to foreign keys)."""
    target: Any = field
    while target.is_relation:
        target = target.target_field
    return target


def is_auto(field: models.Field) -> bool:
    """Whether the database numbers ``field`` (AutoField, BigAutoField, SmallAutoField)."""
    return isinstance(field, AutoFieldMixin)


def unique_sets(model: type[models.Model]) -> list[tuple[models.Field, ...]]:
    """Every set of fields that identifies one row: pk, unique fields, unique constraints."""
    opts = model._meta
    sets: list[tuple[models.Field, ...]] = [(opts.pk,)]
    sets += [(f,) for f in opts.concrete_fields if f.unique and not f.primary_key]
    for names in opts.unique_together:
        sets.append(tuple(cast(models.Field, opts.get_field(n)) for n in names))
    for constraint in opts.total_unique_constraints:
        sets.append(tuple(cast(models.Field, opts.get_field(n)) for n in constraint.fields))
    return sets


def build_plan(
    model: type[models.Model],
    header: Sequence[str | None],
    *,
    mode: str,
    key: Sequence[str] | None,
    mapping: Mapping[str, str] | None,
    allowed: Sequence[str] | None,
    max_columns: int,
) -> Plan:
    """Check ``header`` against ``model`` and return the plan, or raise ImportFileError."""
    if len(header) > max_columns:
        raise ImportFileError(TOO_MANY_COLUMNS.format(count=len(header), limit=max_columns))
    mapping = dict(mapping or {})
    for position, name in enumerate(header, start=1):
        if name is None or not name.strip():
            raise ImportFileError(HEADER_EMPTY_NAME.format(position=position))
    names = cast(list[str], list(header))  # no None left: checked above
    problems = []
    not_in_file = [c for c in mapping if c not in names]
    if not_in_file:
        problems.append(MAP_UNKNOWN_COLUMNS.format(names=", ".join(not_in_file)))
    unknown: list[str] = []
    duplicates: list[str] = []
    targets: list[Target] = []
    seen_names: set[str] = set()
    by_field: dict[str, list[Target]] = {}
    allowed_set = set(allowed) if allowed is not None else None
    for index, name in enumerate(names):
        if name in seen_names:
            duplicates.append(name)
            continue
        seen_names.add(name)
        path = mapping.get(name, name).strip()
        if not path:
            continue  # --map COLUMN= ignores the column
        if _is_generated(model, path):
            continue  # the database computes it; exports include it, so round trips do too
        try:
            field, lookup = importable_field(model, path)
        except LookupError:
            unknown.append(name)
            continue
        if allowed_set is not None and not is_declared(path, field, lookup, allowed_set):
            unknown.append(name)
            continue
        target = Target(index=index, name=name, path=path, field=field, lookup=lookup)
        by_field.setdefault(field.attname, []).append(target)
        targets.append(target)
    for group in by_field.values():
        kinds = [t.lookup for t in group]
        duplicates.extend(t.name for i, t in enumerate(group) if t.lookup in kinds[:i])
    if unknown:
        problems.append(UNKNOWN_COLUMNS.format(names=", ".join(unknown)))
    if duplicates:
        problems.append(DUPLICATE_COLUMNS.format(names=", ".join(dict.fromkeys(duplicates))))
    opts = model._meta
    in_file = set(by_field)
    if mode == "update":
        missing: list[str] = []
    else:
        missing = [
            f.name for f in opts.concrete_fields if f.attname not in in_file and is_required(f)
        ]
    if missing:
        problems.append(MISSING_COLUMNS.format(names=", ".join(missing)))
    if problems:
        raise ImportFileError(
            HEADER_MISMATCH.format(model=opts.label, problems="; ".join(problems))
        )
    key_fields = resolve_key(model, key, mode=mode)
    for field in key_fields:
        if field.attname not in in_file:
            raise ImportFileError(KEY_NOT_IN_FILE.format(field=field.name))
    defaults: tuple[models.Field, ...] = ()
    if mode != "update":
        # A key with a default (a UUID's uuid4) is made here like any other default; only
        # the database numbers an auto field.
        defaults = tuple(
            f
            for f in opts.concrete_fields
            if f.attname not in in_file and not is_auto(f) and not getattr(f, "generated", False)
        )
    return Plan(
        model=model,
        mode=mode,
        targets=tuple(targets),
        width=len(names),
        key=key_fields,
        defaults=defaults,
    )


def resolve_key(
    model: type[models.Model], key: Sequence[str] | None, *, mode: str
) -> tuple[models.Field, ...]:
    """The key fields for update and upsert (empty for create); they must identify one row."""
    if mode == "create":
        return ()
    if not key:
        raise ImportFileError(KEY_NEEDED.format(mode=mode, example=_example_key(model)))
    try:
        fields = tuple(_concrete(model._meta, name) for name in key)
    except LookupError:
        raise ImportFileError(
            KEY_NOT_UNIQUE.format(key=",".join(key), model=model._meta.label)
        ) from None
    if set(fields) not in [set(s) for s in unique_sets(model)]:
        raise ImportFileError(KEY_NOT_UNIQUE.format(key=",".join(key), model=model._meta.label))
    return fields


def _example_key(model: type[models.Model]) -> str:
    for fields in unique_sets(model)[1:]:
        return ",".join(f.name for f in fields)
    return model._meta.pk.name
