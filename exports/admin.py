"""The admin side: export actions, an "Export all N matching" button, and the audit log.

For a model declared in an app's ``exports.py``::

    from exports.admin import ExportAdminMixin

    @admin.register(Invoice)
    class InvoiceAdmin(ExportAdminMixin, admin.ModelAdmin):
        ...

Imports have their own mixin, :class:`ImportAdminMixin` (``ImportExportAdminMixin`` for both).
The export mixin adds one action per format ("Export selected invoices as CSV"...), a button
carrying the changelist's query string (filters, search, ordering) to an export view, and a
page to pick columns and format. Everything is gated by the model's ``export`` permission and
streams straight from the changelist's queryset: with "select all" the action receives the
filtered queryset itself, so no primary keys are collected anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import (
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    TO_FIELD_VAR,
    IncorrectLookupParameters,
)
from django.contrib.admin.views.main import ALL_VAR, ERROR_FLAG, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db import DataError, NotSupportedError, connections, models, router
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse

from . import conf, formats, registry
from .downloads import check_bom, check_fields, check_format, declared, prepare_download
from .errors import ExportError
from .filters import BAD_VALUE, Unrepresentable, check_text, filter_value, shown, split_lookup
from .http import open_log, stream_response
from .imports.admin_views import ImportAdminMixin, ModelAdminBase
from .models import ExportLog
from .permissions import export_permission

FORMAT_PARAM = "_export_format"
FIELDS_PARAM = "_export_fields"
BOM_PARAM = "_export_bom"
EXPORT_PARAMS = (FORMAT_PARAM, FIELDS_PARAM, BOM_PARAM)
# Changelist parameters that do not select rows.
NOT_FILTERS = (PAGE_VAR, ERROR_FLAG, ALL_VAR)
# Changelist parameters that select rows but are not field lookups.
NOT_LOOKUPS = frozenset({SEARCH_VAR, ORDER_VAR, TO_FIELD_VAR, IS_POPUP_VAR, IS_FACETS_VAR})

BAD_PARAMETER = 'Bad parameter "{text}": {problem}.'
BAD_CHANGELIST_QUERY = 'Bad changelist parameters "{query}": {error}'


def export_action(format: str = "csv") -> Callable:  # noqa: A002
    """An admin action exporting the selected rows (or all matching ones) as ``format``.

    Use it with :class:`ExportAdminMixin`, which provides the ``export`` permission check
    (``actions = [export_action("csv")]``); the mixin adds one per format by default.
    """
    writer = formats.get_writer_class(format)
    label = writer.verbose_name

    @admin.action(
        description=f"Export selected %(verbose_name_plural)s as {label}",
        permissions=["export"],
    )
    def action(
        modeladmin: ExportAdminMixin, request: HttpRequest, queryset: models.QuerySet
    ) -> HttpResponseBase | None:
        across = request.POST.get("select_across") == "1"
        selection = (
            "all matching" if across else str(len(request.POST.getlist(ACTION_CHECKBOX_NAME)))
        )
        return modeladmin.export_queryset(
            request,
            queryset,
            format=writer.name,
            source=ExportLog.Source.ADMIN_ACTION,
            filters=[("selected", selection)],
        )

    action.__name__ = f"export_selected_{writer.name}"
    return action


class ExportAdminMixin(ModelAdminBase):
    """Export actions, the "Export all N matching" button and the column picker.

    Needs the model to be declared in the export registry; what it may export is the
    declaration's fields (and labels).
    """

    export_formats: tuple[str, ...] = formats.names()  # every registered format
    change_list_template = "admin/exports/change_list.html"
    export_form_template = "admin/exports/export_form.html"

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(export_permission(self.model))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if (
            self.actions is None
            or IS_POPUP_VAR in request.GET
            or registry.get(self.model) is None
            or not self.has_export_permission(request)
        ):
            return actions
        for fmt in self.export_formats:
            func = export_action(fmt)
            description = func.short_description  # type: ignore[attr-defined]  # admin.action
            actions.setdefault(func.__name__, (func, func.__name__, description))
        return actions

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_export"
        urls = [path("export/", self.admin_site.admin_view(self.export_view), name=name)]
        return urls + super().get_urls()

    def export_url(self) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_export",
            current_app=self.admin_site.name,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context: dict[str, Any] = getattr(response, "context_data", None) or {}
        cl = context.get("cl")
        if cl is not None and registry.get(self.model) and self.has_export_permission(request):
            base = self.export_url()
            context["export_count"] = self._export_count(request, cl)
            # The changelist's own parameters (filters, search, ordering); never primary keys.
            fmt = self.export_formats[0]
            context["export_all_url"] = base + cl.get_query_string({FORMAT_PARAM: fmt})
            context["export_choose_url"] = base + cl.get_query_string()
        return response

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Export what the changelist with this query string shows; without a format, a form."""
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        try:
            entry = declared(self.model)
        except ExportError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        options = {key: request.GET.getlist(key) for key in EXPORT_PARAMS if key in request.GET}
        changelist_query = request.GET.copy()
        for key in (*EXPORT_PARAMS, *NOT_FILTERS):
            changelist_query.pop(key, None)
        request.GET = changelist_query  # type: ignore[assignment]  # the changelist reads it
        try:
            check_changelist_query(self.model, changelist_query)
        except ExportError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        try:
            cl = self.get_changelist_instance(request)  # counts its rows: runs the filters
        except IncorrectLookupParameters as exc:
            message = f"Bad changelist parameters: {exc or request.GET.urlencode()}"
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        except (ValueError, OverflowError, DataError, NotSupportedError) as exc:
            # Lookups outside this app's vocabulary that the database or Django cannot run
            # (``created_at__year=10000``, ``metadata__contains`` on SQLite): the changelist
            # itself would be a 500; here it is a 400, before the first byte.
            message = BAD_CHANGELIST_QUERY.format(query=request.GET.urlencode(), error=exc)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        if FORMAT_PARAM not in options:
            return self._export_form(request, entry, cl)
        try:
            fmt = check_format(entry, options[FORMAT_PARAM][-1], self.export_formats)
            response = self.export_queryset(
                request,
                cl.get_queryset(request),
                format=fmt,
                fields=check_fields(entry, options.get(FIELDS_PARAM)),
                bom=check_bom(options.get(BOM_PARAM), param=BOM_PARAM),
                source=ExportLog.Source.ADMIN_CHANGELIST,
                filters=[(key, str(value)) for key, value in changelist_query.items()],
            )
        except ExportError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        assert response is not None  # a changelist export raises instead of returning None
        return response

    def _export_form(self, request: HttpRequest, entry: registry.Exportable, cl) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Export {self.model._meta.verbose_name_plural}",
            "count": self._export_count(request, cl),
            "changelist_params": [
                (key, value) for key, values in request.GET.lists() for value in values
            ],
            "fields": [(path, entry.labels.get(path, path)) for path in entry.fields],
            "formats": self.export_formats,
            "bom": conf.get("HTTP_BOM"),
            "format_param": FORMAT_PARAM,
            "fields_param": FIELDS_PARAM,
            "bom_param": BOM_PARAM,
            "changelist_url": reverse(
                f"{self.admin_site.name}:{self.model._meta.app_label}_"
                f"{self.model._meta.model_name}_changelist"
            )
            + cl.get_query_string(),
        }
        return TemplateResponse(request, self.export_form_template, context)

    def export_queryset(
        self,
        request: HttpRequest,
        queryset: models.QuerySet,
        *,
        format: str,  # noqa: A002
        source: str,
        fields: tuple[str, ...] | None = None,
        bom: bool | None = None,
        filters: Sequence[tuple[str, str]] = (),
    ) -> HttpResponseBase | None:
        """Stream ``queryset`` (never evaluated here) with the declared fields.

        Every export of this admin (actions, "Export all", the picker) ends here: the format
        must be one of :attr:`export_formats`, and the rows are those the declaration's
        ``queryset`` hook leaves to this request (on top of :meth:`get_queryset`).
        """
        try:
            entry = declared(self.model)
            export = prepare_download(
                entry.restrict(request, queryset),
                entry,
                fields=fields or entry.fields,
                format=check_format(entry, format, self.export_formats),
                bom=conf.get("HTTP_BOM") if bom is None else bom,
            )
        except ExportError as exc:
            if source == ExportLog.Source.ADMIN_CHANGELIST:
                raise  # export_view answers 400 (a view returning None would be a 500)
            self.message_user(request, str(exc), messages.ERROR)
            return None
        log = open_log(
            request,
            export,
            source=source,
            filters=filters,
            query_string=request.META.get("QUERY_STRING", ""),
        )
        return stream_response(request, export, log=log)

    def _export_count(self, request: HttpRequest, cl) -> int:
        """Rows an export of this changelist gives: the declaration's hook may leave fewer."""
        entry = registry.get(self.model)
        if entry is None or entry.queryset is None:
            return cl.result_count
        return entry.restrict(request, cl.queryset).count()


class ImportExportAdminMixin(ImportAdminMixin, ExportAdminMixin):
    """Both mixins: the export actions and buttons, and the import pages and button."""

    change_list_template = ImportAdminMixin.change_list_template
    import_change_list_parent = ExportAdminMixin.change_list_template


def check_changelist_query(model: type[models.Model], query) -> None:
    """Refuse changelist values the database cannot hold or compare (ExportError).

    NUL (or a lone surrogate) in any parameter, search and ordering included; and, for
    parameters that are field lookups this app reads, values out of the column's range. A
    value this app's parser does not read is left to the changelist, which has its own rules.
    """
    connection = connections[router.db_for_read(model)]
    for key, values in query.lists():
        for value in values:
            text = f"{key}={value}"
            try:
                check_text(value)
            except Unrepresentable as exc:
                template = BAD_PARAMETER if key in NOT_LOOKUPS else BAD_VALUE
                raise ExportError(template.format(text=shown(text), problem=exc)) from None
            if key in NOT_LOOKUPS:
                continue
            try:
                field, name = split_lookup(model, key, text)
                filter_value(field, name, value, connection=connection)
            except Unrepresentable as exc:
                raise ExportError(BAD_VALUE.format(text=shown(text), problem=exc)) from None
            except (ExportError, ValueError):
                continue


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody edits or deletes history from the admin."""

    list_display = [
        "started_at",
        "username",
        "model",
        "source",
        "format",
        "status",
        "rows",
        "bytes_sent",
        "seconds",
    ]
    list_filter = ["status", "source", "format", "model"]
    search_fields = ["username", "model"]
    date_hierarchy = "started_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
