"""The admin import: upload -> validation page (a dry run) -> Confirm -> result.

Thin adapters over :func:`exports.imports.import_file`, for models declared importable
(``register(..., import_fields=[...], import_key=[...])``) and users with the model's
``import`` permission plus ``add`` and/or ``change`` for the chosen mode. The upload is
streamed to disk in chunks (413 past ``IMPORT_MAX_UPLOAD_SIZE``); the dry run reads the whole
file in bounded memory and keeps only counts, the first rows and the first errors; the full
reject file is a download. Files too large for one request belong to ``importdata``.

What one request may cost is bounded by settings: the decompressed size of a ``.gz`` upload
(``IMPORT_MAX_DECOMPRESSED_SIZE``), the rows read (``IMPORT_MAX_ROWS``), the rejected rows
(``IMPORT_MAX_ERRORS``: the check stops and says so) and the reject file
(``IMPORT_MAX_REJECTS_SIZE``). Only the declared ``import_fields`` are accepted as columns
(a related model's field, such as ``customer__email``, only when declared as such). An upload
that is refused or fails, or whose check cannot lead to an import, is removed at once.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from .. import conf, registry
from ..downloads import NotDeclared, declared
from ..formats import reader_for_path, reader_names
from . import ImportFileError, import_file
from .permissions import allowed_modes
from .rejects import iter_for_people
from .sources import text_encoding
from .uploads import (
    LimitedUploadHandler,
    Staged,
    StagingError,
    load_staged,
    remove_stale,
    stage,
    unstage,
)

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    #: What the admin mixins extend, for the type checker: the ModelAdmin they are mixed into.
    ModelAdminBase = ModelAdmin[Any]
else:
    ModelAdminBase = object

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
FIRST_ERRORS = 20
TOO_LARGE = "The file is larger than the limit of {limit} for an upload; use manage.py importdata."
LENGTH_REQUIRED = (
    "The upload did not declare its length (Content-Length); send the file from the form."
)
UPLOAD_GONE = "This upload is no longer available; upload the file again."
STAGING_UNSAFE = "Imports are unavailable: the staging directory is not safe to use (see the log)."
STOPPED_AT_MAX_ERRORS = (
    "The check stopped after {limit:,} rejected rows, the limit for the admin "
    "(IMPORT_MAX_ERRORS): fix these first, or use manage.py importdata to list every error."
)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, TSV or JSON Lines (optionally .gz).")
    format = forms.ChoiceField(
        choices=[("", "From the file name")] + [(f, f) for f in reader_names()], required=False
    )
    mode = forms.ChoiceField(choices=())
    encoding = forms.CharField(initial="utf-8", max_length=40)
    delimiter = forms.CharField(
        required=False, max_length=3, help_text="One character; default , (csv) or tab (tsv)."
    )

    def __init__(self, *args, modes: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        mode = self.fields["mode"]
        assert isinstance(mode, forms.ChoiceField)
        mode.choices = [(m, m) for m in modes]

    def clean_encoding(self) -> str:
        try:
            text_encoding(self.cleaned_data["encoding"])
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["encoding"]


class ImportAdminMixin(ModelAdminBase):
    """The import pages of a ModelAdmin, served by its own ``get_urls()`` on its admin site.

    ::

        @admin.register(Invoice, site=my_site)
        class InvoiceAdmin(ImportAdminMixin, admin.ModelAdmin):
            ...

    Adds ``<changelist>/import/`` (upload and validation), ``import/<token>/confirm/`` and
    ``import/<token>/rejects.csv``, named ``<app_label>_<model_name>_import[_confirm|_rejects]``
    in the site's namespace, and an "Import" button on the changelist for users who may import.
    Works on any :class:`~django.contrib.admin.AdminSite`, alone or beside
    :class:`~exports.admin.ExportAdminMixin` (see :class:`~exports.admin.ImportExportAdminMixin`).
    """

    change_list_template = "admin/exports/import_change_list.html"
    #: What the changelist template above extends (the export mixin's template beside it).
    import_change_list_parent = "admin/change_list.html"
    import_upload_template = "exports/import/upload.html"
    import_validate_template = "exports/import/validate.html"
    import_done_template = "exports/import/done.html"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_import"
        wrap = self.admin_site.admin_view
        return [
            # CSRF is checked by the view once the upload handlers have read the body.
            path("import/", wrap(csrf_exempt(self.import_view)), name=name),
            path(
                "import/<str:token>/confirm/",
                wrap(self.import_confirm_view),
                name=f"{name}_confirm",
            ),
            path(
                "import/<str:token>/rejects.csv",
                wrap(self.import_rejects_view),
                name=f"{name}_rejects",
            ),
            *super().get_urls(),
        ]

    def get_import_modes(self, request: HttpRequest) -> tuple[str, ...]:
        """The modes ``request.user`` may import with here (none: no Import button, 403)."""
        entry = registry.get(self.model)
        if entry is None or not entry.importable:
            return ()
        modes = allowed_modes(request.user, self.model)
        if not entry.import_key:
            modes = tuple(m for m in modes if m == "create")
        return modes

    def has_import_permission(self, request: HttpRequest) -> bool:
        return bool(self.get_import_modes(request))

    def import_url(self, step: str = "", *args: str) -> str:
        opts = self.model._meta
        suffix = f"_{step}" if step else ""
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_import{suffix}",
            args=args,
            current_app=self.admin_site.name,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        context = {"import_change_list_parent": self.import_change_list_parent}
        if self.has_import_permission(request):
            context["import_url"] = self.import_url()
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the upload form. POST: stream the file to disk, dry-run it, show the result."""
        return ImportUpload(self, request).respond()

    def import_confirm_view(self, request: HttpRequest, token: str) -> HttpResponse:
        """POST: import the validated upload for real; the result page says what was written."""
        if request.method != "POST":
            return redirect(self.import_url())
        entry, modes = self._import_access(request)
        try:
            staged = _staged(request, entry, token)
        except StagingError as exc:
            return self._staging_unsafe(request, exc, entry)
        if staged.mode not in modes:
            raise PermissionDenied
        on_error = "skip" if request.POST.get("on_error") == "skip" else "abort"
        try:
            result = run(entry, staged, dry_run=False, on_error=on_error)
            file_error = None
        except ImportFileError as exc:
            result, file_error = None, str(exc)
        context = self.import_context(
            request, entry, result=result, file_error=file_error, staged=staged
        )
        if result is not None and result.errors_path:
            context["rejects_url"] = self.import_url("rejects", token)
        else:
            staged.discard()
        return TemplateResponse(request, self.import_done_template, context)

    def import_rejects_view(self, request: HttpRequest, token: str) -> HttpResponseBase:
        """The full reject file, streamed from disk."""
        entry, _ = self._import_access(request)
        try:
            staged = _staged(request, entry, token)
        except StagingError as exc:
            return self._staging_unsafe(request, exc, entry)
        if not staged.rejects.exists():
            raise Http404(UPLOAD_GONE)
        # For people: every cell formula-neutralised as it streams (the file keeps the rows).
        rows = iter_for_people(staged.rejects, escape_formulas=conf.get("HTTP_ESCAPE_FORMULAS"))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        filename = f"{os.path.splitext(staged.name)[0]}.rejects.csv"
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    def import_context(self, request: HttpRequest, entry: registry.Exportable, **extra) -> dict:
        opts = self.model._meta
        return {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": f"Import {opts.verbose_name_plural}",
            "changelist_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
                current_app=self.admin_site.name,
            ),
            "upload_url": self.import_url(),
            "max_upload": conf.get("IMPORT_MAX_UPLOAD_SIZE"),
            "import_fields": entry.import_fields,
            "import_key": entry.import_key,
            **extra,
        }

    def _import_access(self, request: HttpRequest) -> tuple[registry.Exportable, tuple[str, ...]]:
        """The model's import declaration and the user's modes: 404 or 403 otherwise."""
        try:
            entry = declared(self.model, importable=True)
        except NotDeclared as exc:
            raise Http404(str(exc)) from None
        modes = self.get_import_modes(request)
        if not modes:
            raise PermissionDenied
        return entry, modes

    def _staging_unsafe(
        self, request: HttpRequest, exc: StagingError, entry: registry.Exportable
    ) -> HttpResponse:
        logger.error("%s", exc)
        context = self.import_context(request, entry, file_error=STAGING_UNSAFE)
        return TemplateResponse(request, self.import_validate_template, context, status=503)


class ImportUpload:
    """One upload request: its handlers, its staged directory, its answer.

    Per request, never on the (shared) ModelAdmin. The CSRF check runs after the body is read
    (it reads ``request.POST`` anyway), so that an upload over the limit is a 413 wherever the
    token sits in the form. The file parts go to Django's temporary files (removed with the
    request); the accepted one is moved to a staging directory, which is removed again unless
    the answer is a validation page that can be confirmed.
    """

    def __init__(self, model_admin: ImportAdminMixin, request: HttpRequest) -> None:
        self.admin = model_admin
        self.request = request
        self.staged: str | None = None
        self.kept = False

    def respond(self) -> HttpResponse:
        request = self.request
        self.entry, self.modes = self.admin._import_access(request)
        if request.method != "POST":
            return self._form(UploadForm(modes=self.modes))
        try:
            remove_stale()  # checks the staging directory first
        except StagingError as exc:
            return self.admin._staging_unsafe(request, exc, self.entry)
        # Upload handlers must be in place before anything reads the body.
        self.limiter = LimitedUploadHandler(request, conf.get("IMPORT_MAX_UPLOAD_SIZE"))
        request.upload_handlers = [self.limiter, TemporaryFileUploadHandler(request)]
        try:
            return self._post()
        finally:
            if self.staged and not self.kept:
                unstage(self.staged)

    def _post(self) -> HttpResponse:
        request = self.request
        if not request.META.get("CONTENT_LENGTH"):
            # A chunked body: Django reads no body without a length, so the form would look
            # empty and fail its CSRF check (a misleading 403). Say what is wrong instead.
            return self._refused(LENGTH_REQUIRED, status=411)
        files = request.FILES  # reads the body through the handlers
        if self.limiter.exceeded:
            limit = filesizeformat(conf.get("IMPORT_MAX_UPLOAD_SIZE"))
            return self._refused(TOO_LARGE.format(limit=limit), status=413)
        return csrf_protect(self._accept)(request, files)

    def _accept(self, request: HttpRequest, files) -> HttpResponse:
        form = UploadForm(request.POST, files, modes=self.modes)
        if not form.is_valid():
            return self._form(form)
        upload = form.cleaned_data["file"]
        data = form.cleaned_data
        self.staged = stage(upload)
        staged = Staged(
            token=self.staged,
            user_id=str(request.user.pk),
            model=self.entry.label,
            name=os.path.basename(upload.name),
            size=upload.size,
            format=data["format"] or reader_for_path(upload.name) or "csv",
            encoding=data["encoding"],
            delimiter=data["delimiter"] or None,
            mode=data["mode"],
        )
        staged.save()
        return self._validate(staged)

    def _form(self, form: UploadForm, status: int = 200) -> HttpResponse:
        context = self.admin.import_context(self.request, self.entry, form=form)
        return TemplateResponse(
            self.request, self.admin.import_upload_template, context, status=status
        )

    def _refused(self, message: str, *, status: int) -> HttpResponse:
        form = UploadForm(modes=self.modes)
        form.errors["file"] = form.error_class([message])
        return self._form(form, status=status)

    def _validate(self, staged: Staged) -> HttpResponse:
        context: dict[str, Any] = {"staged": staged}
        try:
            result = run(self.entry, staged, dry_run=True)
        except ImportFileError as exc:
            context["file_error"] = str(exc)
            result = None
        context["result"] = result
        if result is None:
            pass
        elif result.stopped:
            # Nothing to confirm: the page says why; the upload and its rejects go.
            max_errors = conf.get("IMPORT_MAX_ERRORS")
            if result.rejected >= max_errors:
                result.stopped = STOPPED_AT_MAX_ERRORS.format(limit=max_errors)
        else:
            self.kept = True
            context["confirm_url"] = self.admin.import_url("confirm", staged.token)
            if result.errors_path:
                context["rejects_url"] = self.admin.import_url("rejects", staged.token)
        if result is not None:
            context["preview_rows"] = [
                [row.get(c) for c in result.columns] for row in result.preview
            ]
        context = self.admin.import_context(self.request, self.entry, **context)
        return TemplateResponse(self.request, self.admin.import_validate_template, context)


def run(entry: registry.Exportable, staged: Staged, *, dry_run: bool, on_error: str = "abort"):
    return import_file(
        model=entry.model,
        source=staged.path,
        format=staged.format,
        mode=staged.mode,
        key=entry.import_key or None,
        on_error=on_error,
        errors_path=staged.rejects,
        dry_run=dry_run,
        encoding=staged.encoding,
        delimiter=staged.delimiter,
        allowed_fields=entry.import_fields,
        keep_errors=FIRST_ERRORS,
        keep_preview=PREVIEW_ROWS,
        max_errors=conf.get("IMPORT_MAX_ERRORS"),
        max_rows=conf.get("IMPORT_MAX_ROWS"),
        max_decompressed_size=conf.get("IMPORT_MAX_DECOMPRESSED_SIZE"),
        max_rejects_size=conf.get("IMPORT_MAX_REJECTS_SIZE"),
    )


def _staged(request: HttpRequest, entry: registry.Exportable, token: str) -> Staged:
    try:
        return load_staged(token, user_id=str(request.user.pk), model=entry.label)
    except (OSError, ValueError, TypeError):
        raise Http404(UPLOAD_GONE) from None
