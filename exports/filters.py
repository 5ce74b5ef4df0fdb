"""Filters given as text (``status=paid``, ``created_at__gte=2024-01-01``), typed by their field.

The management command and the download view share this; it raises ExportError with a message
naming the filter before any query runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q

from .columns import resolve_path
from .errors import ExportError
from .parsing import ParseError, parse_bool, parse_value

TEXT_LOOKUPS = frozenset(
    {"contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact"}
)
VALUE_LOOKUPS = frozenset({"exact", "gt", "gte", "lt", "lte"})
LOOKUPS = TEXT_LOOKUPS | VALUE_LOOKUPS | {"in", "range", "isnull"}

BAD_FILTER_SYNTAX = 'Bad filter "{text}": write LOOKUP=VALUE, for example status=paid.'
BAD_LOOKUP = 'Bad filter "{text}": unknown lookup "{lookup}"; use one of: {choices}.'
BAD_VALUE = 'Bad filter "{text}": {problem}.'
BAD_RANGE = 'Bad filter "{text}": a range needs two values separated by a comma.'


def split_filter(text: str) -> tuple[str, str]:
    lookup, sep, value = text.partition("=")
    if not sep or not lookup.strip():
        raise ExportError(BAD_FILTER_SYNTAX.format(text=text))
    return lookup.strip(), value


def _split_lookup(model: type[models.Model], lookup: str, text: str) -> tuple[models.Field, str]:
    parts = lookup.split("__")
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        path, name = "__".join(parts[:-1]), parts[-1]
    else:
        path, name = lookup, "exact"
    try:
        field = resolve_path(model, path)
    except ExportError as exc:
        # The last part may be a lookup Django has but we do not offer.
        if len(parts) > 1:
            try:
                resolve_path(model, "__".join(parts[:-1]))
            except ExportError:
                pass
            else:
                raise ExportError(
                    BAD_LOOKUP.format(
                        text=text, lookup=parts[-1], choices=", ".join(sorted(LOOKUPS))
                    )
                ) from None
        raise ExportError(f'Bad filter "{text}": {exc}') from None
    return field, name


def parse_filter(model: type[models.Model], lookup: str, value: str) -> tuple[str, Any]:
    """Return ``(django_lookup, typed_value)`` for one filter, or raise ExportError."""
    text = f"{lookup}={value}"
    field, name = _split_lookup(model, lookup, text)
    try:
        if name == "isnull":
            typed: Any = parse_bool(value)
        elif name in TEXT_LOOKUPS:
            typed = value
        elif name == "in":
            typed = [parse_value(field, item) for item in value.split(",")]
        elif name == "range":
            items = value.split(",")
            if len(items) != 2:
                raise ExportError(BAD_RANGE.format(text=text))
            typed = tuple(parse_value(field, item) for item in items)
        else:
            typed = parse_value(field, value)
    except ParseError as exc:
        raise ExportError(BAD_VALUE.format(text=text, problem=exc)) from None
    return lookup, typed


def build_q(model: type[models.Model], filters: Iterable[tuple[str, str]]) -> Q:
    """AND together ``(lookup, value)`` pairs, each typed and checked by :func:`parse_filter`."""
    q = Q()
    for lookup, value in filters:
        key, typed = parse_filter(model, lookup, value)
        q &= Q(**{key: typed})
    return q
