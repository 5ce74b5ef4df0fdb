"""The download view: ``GET /exports/<app_label>/<model_name>.<format>?fields=...&<filter>=...``.

Every check that can fail is made before the first byte: anonymous users go to the admin
login, users who are not active staff or lack the model's ``view`` and ``export`` permissions
get 403, an undeclared model or an unknown format 404, an undeclared field or filter (or a
value its field cannot parse or its column cannot hold) 400 naming it. Then the rows the
declaration's ``queryset`` hook leaves to the request stream (see :mod:`exports.http`).
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBadRequest, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import formats, registry
from .downloads import (
    DownloadRequest,
    FormatNotOffered,
    NotDeclared,
    check_bom,
    check_fields,
    check_filters,
    check_format,
    declared,
    prepare_download,
)
from .errors import ExportError
from .filters import build_q
from .http import open_log, stream_response
from .models import ExportLog
from .permissions import can_export, is_active_staff

FIELDS_PARAM = "fields"
BOM_PARAM = "bom"
RESERVED = frozenset({FIELDS_PARAM, BOM_PARAM})


def parse_query(query: QueryDict, entry: registry.Exportable, *, format: str) -> DownloadRequest:  # noqa: A002
    """Check ``fields``, ``bom`` and the filters against ``entry``; raise ExportError."""
    return DownloadRequest(
        format=format,
        fields=check_fields(entry, query.getlist(FIELDS_PARAM) if FIELDS_PARAM in query else None),
        bom=check_bom(query.getlist(BOM_PARAM), param=BOM_PARAM),
        filters=check_filters(entry, ((k, v) for k, v in query.lists() if k not in RESERVED)),
    )


@require_GET
def download(
    request: HttpRequest, app_label: str, model_name: str, format: str
) -> HttpResponseBase:  # noqa: A002
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not is_active_staff(request.user):
        raise PermissionDenied
    try:
        entry = declared(f"{app_label}.{model_name}")
    except NotDeclared as exc:
        raise Http404(str(exc)) from None
    model = entry.model
    if not can_export(request.user, model):
        raise PermissionDenied
    try:
        format = check_format(entry, format, formats.names())  # noqa: A001
    except FormatNotOffered as exc:
        raise Http404(str(exc)) from None
    try:
        params = parse_query(request.GET, entry, format=format)
        rows = entry.restrict(request, model._default_manager.all())
        queryset = rows.filter(build_q(model, params.filters, using=rows.db))
        export = prepare_download(
            queryset, entry, fields=params.fields, format=params.format, bom=params.bom
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
