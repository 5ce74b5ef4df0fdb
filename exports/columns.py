"""Resolve models and field paths (Django lookups such as ``customer__email``) to columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .errors import ExportError

UNKNOWN_MODEL = 'Unknown model "{label}": use app_label.ModelName, for example shop.Order.'
BAD_MODEL_LABEL = 'Bad model "{label}": use app_label.ModelName, for example shop.Order.'
UNKNOWN_FIELD = 'Unknown field "{part}" on {model} (in field path "{path}").'
NOT_A_RELATION = 'Field "{part}" on {model} is not a relation, so "{path}" cannot go through it.'
MANY_VALUED = (
    'Field path "{path}" goes through "{part}" on {model}, which holds many rows per row; '
    "only forward foreign keys and one-to-one relations can be followed."
)
NOT_EXPORTABLE = 'Field path "{path}" ends on "{part}" of {model}, which is not a column.'
DUPLICATE_FIELD = 'Field "{path}" is asked for more than once.'
NO_FIELDS = "No fields to export."


def get_model(label: str) -> type[models.Model]:
    """Return the model for ``app_label.ModelName`` (case-insensitive, as ``dumpdata`` does)."""
    app_label, sep, model_name = label.partition(".")
    if not sep or not app_label or not model_name or "." in model_name:
        raise ExportError(BAD_MODEL_LABEL.format(label=label))
    # Django matches model names case-insensitively but app labels exactly; match both.
    app_labels = sorted(
        (c.label for c in apps.get_app_configs() if c.label.lower() == app_label.lower()),
        key=lambda found: found != app_label,  # an exact match first
    )
    try:
        return apps.get_model(app_labels[0] if app_labels else app_label, model_name)
    except LookupError:
        raise ExportError(UNKNOWN_MODEL.format(label=label)) from None


def model_label(model: type[models.Model]) -> str:
    return model._meta.label


@dataclass(frozen=True)
class Column:
    """One output column: the lookup path, the concrete field it ends on, and its header label."""

    path: str
    field: models.Field
    label: str

    @property
    def attname_path(self) -> str:
        return self.path


def default_paths(model: type[models.Model]) -> list[str]:
    """The model's concrete fields in declaration order, foreign keys as their ``_id`` column."""
    return [f.attname for f in model._meta.concrete_fields]


def resolve_path(model: type[models.Model], path: str) -> models.Field:
    """Return the concrete field that ``path`` ends on, or raise ExportError naming the problem.

    A path may end on a foreign key (its name or its ``_id`` attname): the column then holds
    the related primary key, as the database stores it.
    """
    parts = path.split("__")
    current = model
    for index, part in enumerate(parts):
        opts = current._meta
        field = _get_field(opts, part)
        label = opts.label
        if field is None:
            raise ExportError(UNKNOWN_FIELD.format(part=part, model=label, path=path))
        last = index == len(parts) - 1
        if field.many_to_many or field.one_to_many:
            raise ExportError(MANY_VALUED.format(path=path, part=part, model=label))
        if last:
            if not getattr(field, "concrete", False) or field.column is None:
                raise ExportError(NOT_EXPORTABLE.format(path=path, part=part, model=label))
            return field
        if not field.is_relation or field.related_model is None:
            raise ExportError(NOT_A_RELATION.format(part=part, model=label, path=path))
        current = field.related_model
    raise ExportError(NO_FIELDS)  # pragma: no cover  (an empty path has one empty part)


def _get_field(opts, part: str) -> models.Field | None:
    if part == "pk":
        return opts.pk
    try:
        return opts.get_field(part)
    except Exception:  # FieldDoesNotExist
        pass
    # A foreign key's attname ("customer_id") names the same column as the key itself.
    for field in opts.concrete_fields:
        if field.attname == part:
            return field
    return None


def resolve_columns(
    model: type[models.Model],
    paths: Sequence[str] | None = None,
    labels: dict[str, str] | None = None,
) -> tuple[Column, ...]:
    """Resolve field paths (default: :func:`default_paths`) before any query runs."""
    paths = list(paths) if paths else default_paths(model)
    if not paths:
        raise ExportError(NO_FIELDS)
    seen: set[str] = set()
    columns = []
    for path in paths:
        if path in seen:
            raise ExportError(DUPLICATE_FIELD.format(path=path))
        seen.add(path)
        field = resolve_path(model, path)
        columns.append(Column(path=path, field=field, label=(labels or {}).get(path, path)))
    return tuple(columns)


def parse_field_list(text: str) -> list[str]:
    """Split ``"a, b,customer__email"`` into paths; empty items are an error."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ExportError(f'Empty field name in "{text}".')
    return items
