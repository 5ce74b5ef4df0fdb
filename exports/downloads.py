"""What the download adapters share: the download view (``/exports/...``) and the admin.

Both find a model's declaration the same way, check what a person may choose (fields, format,
byte order mark, filters) with one message per mistake, and prepare the export with the same
HTTP settings. Each adapter names its own query parameters (``fields`` in the view,
``_export_fields`` in the admin, beside the changelist's) and turns :class:`ExportError` into
its own answer (a 404 or 400, an admin message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models

from . import conf, registry
from .columns import parse_field_list
from .errors import ExportError
from .filters import LOOKUPS
from .imports.errors import NOT_IMPORTABLE
from .parsing import ParseError, parse_bool
from .stream import Export, prepare_export

NOT_DECLARED = "{label} is not declared exportable."
FORMAT_NOT_OFFERED = 'Format "{name}" is not offered for {label}; choose one of: {choices}.'
FIELD_NOT_DECLARED = 'Field "{path}" is not exportable from {model}; choose from: {choices}.'
FILTER_NOT_DECLARED = 'Filter "{lookup}" is not allowed on {model}; filter on: {choices}.'
BAD_BOM = 'Bad parameter "{param}={value}": use 1 or 0.'


class NotDeclared(ExportError):
    """The model is not declared exportable (or importable): adapters answer 404 or 400."""


class FormatNotOffered(ExportError):
    """The format is not one this adapter offers for the model."""


def declared(model: type[models.Model] | str, *, importable: bool = False) -> registry.Exportable:
    """The declaration of ``model`` (a model or ``app_label.model_name``), else NotDeclared.

    With ``importable``, the declaration must allow imports too.
    """
    if isinstance(model, str):
        try:
            model = apps.get_model(model)
        except (LookupError, ValueError):
            raise NotDeclared(NOT_DECLARED.format(label=model)) from None
    entry = registry.get(model)
    if entry is None:
        raise NotDeclared(NOT_DECLARED.format(label=model._meta.label))
    if importable and not entry.importable:
        raise NotDeclared(NOT_IMPORTABLE.format(model=model._meta.label))
    return entry


@dataclass(frozen=True)
class DownloadRequest:
    """What a person chose for a download, checked against the model's declaration."""

    format: str
    fields: tuple[str, ...]
    bom: bool
    filters: tuple[tuple[str, str], ...] = ()


def check_format(entry: registry.Exportable, name: str, offered: Sequence[str]) -> str:
    """``name`` in lower case if it is one of ``offered``, else FormatNotOffered."""
    if name.lower() not in offered:
        raise FormatNotOffered(
            FORMAT_NOT_OFFERED.format(name=name, label=entry.label, choices=", ".join(offered))
        )
    return name.lower()


def check_fields(entry: registry.Exportable, values: Sequence[str] | None) -> tuple[str, ...]:
    """The fields asked for (comma-separated, repeatable), each declared; all if ``None``."""
    if values is None:
        return entry.fields
    fields = tuple(parse_field_list(",".join(values)))
    for path in fields:
        if path not in entry.fields:
            raise ExportError(
                FIELD_NOT_DECLARED.format(
                    path=path, model=entry.label, choices=", ".join(entry.fields)
                )
            )
    return fields


def check_bom(values: Sequence[str] | None, *, param: str) -> bool:
    """The last value of ``param`` as a boolean; the ``HTTP_BOM`` setting if absent."""
    if not values:
        return conf.get("HTTP_BOM")
    try:
        return parse_bool(values[-1])
    except ParseError:
        raise ExportError(BAD_BOM.format(param=param, value=values[-1])) from None


def check_filters(
    entry: registry.Exportable, lookups: Iterable[tuple[str, list[str]]]
) -> tuple[tuple[str, str], ...]:
    """Each ``(lookup, values)`` on a declared filter; the pairs, one per value."""
    filters: list[tuple[str, str]] = []
    for lookup, values in lookups:
        if filter_path(lookup) not in entry.filters:
            raise ExportError(
                FILTER_NOT_DECLARED.format(
                    lookup=lookup, model=entry.label, choices=", ".join(entry.filters) or "nothing"
                )
            )
        filters.extend((lookup, value) for value in values)
    return tuple(filters)


def filter_path(lookup: str) -> str:
    """The field path a filter applies to: ``created_at__gte`` -> ``created_at``."""
    path, sep, last = lookup.rpartition("__")
    return path if sep and last in LOOKUPS else lookup


def prepare_download(
    queryset: models.QuerySet, entry: registry.Exportable, *, fields: Sequence[str], **options: Any
) -> Export:
    """The HTTP flavour of :func:`prepare_export`: declared labels, formulas neutralised, and
    paced by a client (so no engine holding SQLite's read lock between batches)."""
    return prepare_export(
        queryset=queryset,
        fields=fields,
        labels=entry.labels,
        escape_formulas=conf.get("HTTP_ESCAPE_FORMULAS"),
        client_paced=True,
        **options,
    )
