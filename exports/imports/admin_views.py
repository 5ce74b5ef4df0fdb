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

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from .. import conf, registry
from ..columns import get_model
from ..errors import ExportError
from ..formats import format_for_path
from . import ImportFileError, import_file
from .permissions import allowed_modes
from .pipeline import FORMATS
from .rejects import iter_for_people
from .sources import text_encoding
from .uploads import (
    DiskUploadHandler,
    LimitedUploadHandler,
    Staged,
    StagingError,
    load_staged,
    remove_stale,
)

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
FIRST_ERRORS = 20
TOO_LARGE = "The file is larger than the limit of {limit} for an upload; use manage.py importdata."
LENGTH_REQUIRED = (
    "The upload did not declare its length (Content-Length); send the file from the form."
)
NOT_IMPORTABLE = "{label} is not declared importable."
UPLOAD_GONE = "This upload is no longer available; upload the file again."
STAGING_UNSAFE = "Imports are unavailable: the staging directory is not safe to use (see the log)."
STOPPED_AT_MAX_ERRORS = (
    "The check stopped after {limit:,} rejected rows, the limit for the admin "
    "(IMPORT_MAX_ERRORS): fix these first, or use manage.py importdata to list every error."
)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, TSV or JSON Lines (optionally .gz).")
    format = forms.ChoiceField(
        choices=[("", "From the file name")] + [(f, f) for f in FORMATS], required=False
    )
    mode = forms.ChoiceField(choices=())
    encoding = forms.CharField(initial="utf-8", max_length=40)
    delimiter = forms.CharField(
        required=False, max_length=3, help_text="One character; default , (csv) or tab (tsv)."
    )

    def __init__(self, *args, modes: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = [(m, m) for m in modes]

    def clean_encoding(self) -> str:
        try:
            text_encoding(self.cleaned_data["encoding"])
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["encoding"]


def _entry(app_label: str, model_name: str) -> registry.Exportable:
    try:
        model = get_model(f"{app_label}.{model_name}")
    except ExportError:
        raise Http404 from None
    entry = registry.get(model)
    if entry is None or not entry.importable:
        raise Http404(NOT_IMPORTABLE.format(label=model._meta.label))
    return entry


def _modes(request: HttpRequest, entry: registry.Exportable) -> tuple[str, ...]:
    modes = allowed_modes(request.user, entry.model)
    if not entry.import_key:
        modes = tuple(m for m in modes if m == "create")
    if not modes:
        raise PermissionDenied
    return modes


def _context(request: HttpRequest, entry: registry.Exportable, **extra) -> dict:
    opts = entry.model._meta
    return {
        **admin.site.each_context(request),
        "opts": opts,
        "title": f"Import {opts.verbose_name_plural}",
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        "upload_url": reverse("exports_import:upload", args=(opts.app_label, opts.model_name)),
        "max_upload": conf.get("IMPORT_MAX_UPLOAD_SIZE"),
        "import_fields": entry.import_fields,
        "import_key": entry.import_key,
        **extra,
    }


def _staging_unsafe(request, exc: StagingError, entry: registry.Exportable) -> HttpResponse:
    logger.error("%s", exc)
    context = _context(request, entry, file_error=STAGING_UNSAFE)
    return TemplateResponse(request, "exports/import/validate.html", context, status=503)


@method_decorator(csrf_exempt, name="dispatch")
class UploadView(View):
    """GET: the upload form. POST: stream the file to disk, dry-run it, show the result.

    The CSRF check runs after the body is read (it reads ``request.POST`` anyway), so that an
    upload over the limit is a 413 wherever the token sits in the form; every directory the
    upload made is removed unless the answer is a validation page that can be confirmed.
    """

    def dispatch(self, request, app_label: str, model_name: str):
        if not request.user.is_active or not request.user.is_staff:
            return redirect(f"{reverse('admin:login')}?next={request.get_full_path()}")
        self.entry = _entry(app_label, model_name)
        self.modes = _modes(request, self.entry)
        if request.method != "POST":
            return super().dispatch(request, app_label, model_name)
        try:
            remove_stale()  # checks the staging directory first
        except StagingError as exc:
            return _staging_unsafe(request, exc, self.entry)
        # Upload handlers must be in place before anything reads the body.
        self.limiter = LimitedUploadHandler(request, conf.get("IMPORT_MAX_UPLOAD_SIZE"))
        self.disk = DiskUploadHandler(request)
        request.upload_handlers = [self.limiter, self.disk]
        self.kept: str | None = None
        try:
            return super().dispatch(request, app_label, model_name)
        finally:
            self.disk.discard(keep=self.kept)

    def get(self, request, app_label: str, model_name: str) -> HttpResponse:
        form = UploadForm(modes=self.modes)
        return self._form(request, form)

    def post(self, request, app_label: str, model_name: str) -> HttpResponse:
        if not request.META.get("CONTENT_LENGTH"):
            # A chunked body: Django reads no body without a length, so the form would look
            # empty and fail its CSRF check (a misleading 403). Say what is wrong instead.
            return self._refused(request, LENGTH_REQUIRED, status=411)
        files = request.FILES  # reads the body through the handlers
        if self.limiter.exceeded:
            return self._too_large(request)
        return csrf_protect(self._accept)(request, files)

    def _accept(self, request, files) -> HttpResponse:
        form = UploadForm(request.POST, files, modes=self.modes)
        if not form.is_valid():
            return self._form(request, form)
        upload = form.cleaned_data["file"]
        data = form.cleaned_data
        fmt = data["format"] or format_for_path(upload.name) or "csv"
        staged = Staged(
            token=upload.token,
            user_id=request.user.pk,
            model=self.entry.label,
            name=os.path.basename(upload.name),
            size=upload.size,
            format=fmt,
            encoding=data["encoding"],
            delimiter=data["delimiter"] or None,
            mode=data["mode"],
        )
        staged.save()
        return self._validate(request, staged)

    def _form(self, request, form, status: int = 200) -> HttpResponse:
        context = _context(request, self.entry, form=form)
        return TemplateResponse(request, "exports/import/upload.html", context, status=status)

    def _too_large(self, request) -> HttpResponse:
        limit = conf.get("IMPORT_MAX_UPLOAD_SIZE")
        return self._refused(request, TOO_LARGE.format(limit=_size(limit)), status=413)

    def _refused(self, request, message: str, *, status: int) -> HttpResponse:
        form = UploadForm(modes=self.modes)
        form.errors["file"] = form.error_class([message])
        return self._form(request, form, status=status)

    def _validate(self, request, staged: Staged) -> HttpResponse:
        context = {"staged": staged}
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
            self.kept = staged.token
            args = (self.entry.model._meta.app_label, self.entry.model._meta.model_name)
            context["confirm_url"] = reverse("exports_import:confirm", args=(*args, staged.token))
            if result.errors_path:
                context["rejects_url"] = reverse(
                    "exports_import:rejects", args=(*args, staged.token)
                )
        if result is not None:
            context["preview_rows"] = [
                [row.get(c) for c in result.columns] for row in result.preview
            ]
        return TemplateResponse(
            request, "exports/import/validate.html", _context(request, self.entry, **context)
        )


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


def _staged(request, entry, token: str) -> Staged:
    try:
        return load_staged(token, user_id=request.user.pk, model=entry.label)
    except (OSError, ValueError, TypeError):
        raise Http404(UPLOAD_GONE) from None


def confirm_view(request: HttpRequest, app_label: str, model_name: str, token: str):
    """POST: import the validated upload for real; the result page says what was written."""
    if request.method != "POST":
        return redirect("exports_import:upload", app_label, model_name)
    entry = _entry(app_label, model_name)
    modes = _modes(request, entry)
    try:
        staged = _staged(request, entry, token)
    except StagingError as exc:
        return _staging_unsafe(request, exc, entry)
    if staged.mode not in modes:
        raise PermissionDenied
    on_error = "skip" if request.POST.get("on_error") == "skip" else "abort"
    try:
        result = run(entry, staged, dry_run=False, on_error=on_error)
        file_error = None
    except ImportFileError as exc:
        result, file_error = None, str(exc)
    context = _context(request, entry, result=result, file_error=file_error, staged=staged)
    if result is not None and result.errors_path:
        context["rejects_url"] = reverse(
            "exports_import:rejects", args=(app_label, model_name, token)
        )
    else:
        staged.discard()
    return TemplateResponse(request, "exports/import/done.html", context)


def rejects_view(request: HttpRequest, app_label: str, model_name: str, token: str):
    """The full reject file, streamed from disk."""
    entry = _entry(app_label, model_name)
    _modes(request, entry)
    try:
        staged = _staged(request, entry, token)
    except StagingError as exc:
        return _staging_unsafe(request, exc, entry)
    if not staged.rejects.exists():
        raise Http404(UPLOAD_GONE)
    # For people: every cell formula-neutralised as it streams (the file keeps the exact rows).
    rows = iter_for_people(staged.rejects, escape_formulas=conf.get("HTTP_ESCAPE_FORMULAS"))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    filename = f"{os.path.splitext(staged.name)[0]}.rejects.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover
