"""What may leave (and enter) the site over HTTP and the admin: a declaration per model.

Apps declare it in an ``exports.py`` module, discovered at start-up the way ``admin.py`` is::

    # myapp/exports.py
    from exports.registry import register
    from .models import Invoice

    register(Invoice, fields=["id", "number", "customer__email", "total"],
             labels={"customer__email": "Customer e-mail"},
             filters=["status", "issued_on"],
             queryset=lambda request, qs: qs.filter(account__members=request.user))

Models and fields not declared are unreachable over HTTP and the admin. The management
commands, run by operators, are not limited by it. ``queryset`` restricts the rows per request,
in the download view and in the admin alike (see :meth:`Exportable.restrict`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.module_loading import autodiscover_modules

from .columns import resolve_path
from .errors import ExportError

if TYPE_CHECKING:
    from django.http import HttpRequest

ALREADY_REGISTERED = "{label} is already declared exportable."
BAD_HOOK_RESULT = (
    "The queryset hook of {label} must return a QuerySet of {label} (queryset.filter(...)), "
    "not {got}."
)

#: ``queryset(request, queryset) -> queryset``: the rows of ``queryset`` this request may export.
QuerySetHook = Callable[["HttpRequest", models.QuerySet], models.QuerySet]


@dataclass(frozen=True)
class Exportable:
    """The declaration for one model."""

    model: type[models.Model]
    fields: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    filters: tuple[str, ...] = ()
    #: Import declaration: None when the model is not importable over the admin.
    import_fields: tuple[str, ...] | None = None
    import_key: tuple[str, ...] = ()
    queryset: QuerySetHook | None = None

    def restrict(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        """The rows of ``queryset`` that ``request`` may export, as the declaration's hook says.

        Lazy like any ``filter()``: the hook must return a QuerySet of the model, never rows.
        Anything that exports on behalf of a request applies it: the download view (to the
        default manager's rows), the admin (to the changelist's, after ``get_queryset``), and a
        background job started from a request (to the queryset it is handed, before it is
        stored, since a worker has no request).
        """
        if self.queryset is None:
            return queryset
        restricted: Any = self.queryset(request, queryset)
        if not isinstance(restricted, models.QuerySet) or restricted.model is not self.model:
            raise TypeError(BAD_HOOK_RESULT.format(label=self.label, got=type(restricted).__name__))
        return restricted

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def importable(self) -> bool:
        return self.import_fields is not None


_registry: dict[type[models.Model], Exportable] = {}


def register(
    model: type[models.Model],
    *,
    fields: Iterable[str],
    labels: Mapping[str, str] | None = None,
    filters: Iterable[str] = (),
    import_fields: Iterable[str] | None = None,
    import_key: Iterable[str] = (),
    queryset: QuerySetHook | None = None,
) -> Exportable:
    """Declare ``model`` exportable with these ``fields`` (and importable if ``import_fields``).

    Field paths are checked now, so a typo fails at start-up rather than on a download.
    ``queryset(request, queryset)``, if given, returns the rows that request may export.
    """
    if model in _registry:
        raise ExportError(ALREADY_REGISTERED.format(label=model._meta.label))
    fields = tuple(fields)
    for path in (*fields, *filters, *(import_fields or ())):
        resolve_path(model, path)
    entry = Exportable(
        model=model,
        fields=fields,
        labels=dict(labels or {}),
        filters=tuple(filters),
        import_fields=tuple(import_fields) if import_fields is not None else None,
        import_key=tuple(import_key),
        queryset=queryset,
    )
    _registry[model] = entry
    return entry


def unregister(model: type[models.Model]) -> None:
    _registry.pop(model, None)


def get(model: type[models.Model]) -> Exportable | None:
    return _registry.get(model)


def all_exportables() -> tuple[Exportable, ...]:
    return tuple(_registry.values())


def autodiscover() -> None:
    autodiscover_modules("exports")
