"""The download view: ``GET /exports/<app_label>/<model_name>.<format>?fields=...&<filter>=...``.

Every check that can fail is made before the first byte: anonymous users go to the admin
login, users who are not active staff or lack the model's ``view`` and ``export`` permissions
get 403, an undeclared model or an unknown format 404, an undeclared field or filter (or a
value its field cannot parse or its column cannot hold) 400 naming it. Then the rows the
declaration's ``queryset`` hook leaves to the request stream (see :mod:`exports.http`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import conf, formats, registry
from .columns import parse_field_list
from .errors import ExportError
from .filters import LOOKUPS, build_q
from .http import open_log, stream_response
from .models import ExportLog
from .parsing import ParseError, parse_bool
from .permissions import can_export, is_active_staff
from .stream import Export, prepare_export

FIELDS_PARAM = "fields"
BOM_PARAM = "bom"
RESERVED = frozenset({FIELDS_PARAM, BOM_PARAM})

NOT_DECLARED_MODEL = "{label} is not exportable."
UNKNOWN_FORMAT = 'Unknown format "{name}"; choose one of: {choices}.'
FIELD_NOT_DECLARED = 'Field "{path}" is not exportable from {model}; choose from: {choices}.'
FILTER_NOT_DECLARED = 'Filter "{lookup}" is not allowed on {model}; filter on: {choices}.'
BAD_BOM = 'Bad parameter "bom={value}": use 1 or 0.'


@dataclass(frozen=True)
class DownloadRequest:
    """The query string of a download, checked against the model's declaration."""

    fields: tuple[str, ...]
    filters: tuple[tuple[str, str], ...]
    bom: bool


def parse_query(query: QueryDict, entry: registry.Exportable) -> DownloadRequest:
    """Check ``fields``, ``bom`` and the filters against ``entry``; raise ExportError."""
    label = entry.label
    fields: Sequence[str] = entry.fields
    if FIELDS_PARAM in query:
        fields = parse_field_list(",".join(query.getlist(FIELDS_PARAM)))
        for path in fields:
            if path not in entry.fields:
                raise ExportError(
                    FIELD_NOT_DECLARED.format(
                        path=path, model=label, choices=", ".join(entry.fields)
                    )
                )
    bom = conf.get("HTTP_BOM")
    if BOM_PARAM in query:
        value = query[BOM_PARAM]
        try:
            bom = parse_bool(value)
        except ParseError:
            raise ExportError(BAD_BOM.format(value=value)) from None
    filters = []
    for lookup, values in query.lists():
        if lookup in RESERVED:
            continue
        if filter_path(lookup) not in entry.filters:
            raise ExportError(
                FILTER_NOT_DECLARED.format(
                    lookup=lookup, model=label, choices=", ".join(entry.filters) or "nothing"
                )
            )
        filters.extend((lookup, value) for value in values)
    return DownloadRequest(fields=tuple(fields), filters=tuple(filters), bom=bom)


def filter_path(lookup: str) -> str:
    """The field path a filter applies to: ``created_at__gte`` -> ``created_at``."""
    path, sep, last = lookup.rpartition("__")
    return path if sep and last in LOOKUPS else lookup


def declared_model(app_label: str, model_name: str) -> registry.Exportable:
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        raise Http404(NOT_DECLARED_MODEL.format(label=f"{app_label}.{model_name}")) from None
    entry = registry.get(model)
    if entry is None:
        raise Http404(NOT_DECLARED_MODEL.format(label=model._meta.label))
    return entry


def prepare_download(
    queryset: models.QuerySet, entry: registry.Exportable, *, fields: Sequence[str], **options
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


@require_GET
def download(request: HttpRequest, app_label: str, model_name: str, format: str) -> HttpResponse:  # noqa: A002
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not is_active_staff(request.user):
        raise PermissionDenied
    entry = declared_model(app_label, model_name)
    model = entry.model
    if not can_export(request.user, model):
        raise PermissionDenied
    if format.lower() not in formats.names():
        raise Http404(UNKNOWN_FORMAT.format(name=format, choices=", ".join(formats.names())))
    try:
        params = parse_query(request.GET, entry)
        rows = entry.restrict(request, model._default_manager.all())
        queryset = rows.filter(build_q(model, params.filters, using=rows.db))
        export = prepare_download(
            queryset, entry, fields=params.fields, format=format.lower(), bom=params.bom
        )
    except ExportError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    log = open_log(
        request,
        export,
        source=ExportLog.Source.DOWNLOAD,
        filters=params.filters,
        query_string=request.META.get("QUERY_STRING", ""),
    )
    return stream_response(request, export, log=log)
