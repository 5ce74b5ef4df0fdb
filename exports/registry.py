"""What may leave (and enter) the site over HTTP and the admin: a declaration per model.

Apps declare it in an ``exports.py`` module, discovered at start-up the way ``admin.py`` is::

    # myapp/exports.py
    from exports.registry import register
    from .models import Invoice

    register(Invoice, fields=["id", "number", "customer__email", "total"],
             labels={"customer__email": "Customer e-mail"},
             filters=["status", "issued_on"])

Models and fields not declared are unreachable over HTTP and the admin. The management
commands, run by operators, are not limited by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models
from django.utils.module_loading import autodiscover_modules

from .columns import resolve_path
from .errors import ExportError

ALREADY_REGISTERED = "{label} is already declared exportable."


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
) -> Exportable:
    """Declare ``model`` exportable with these ``fields`` (and importable if ``import_fields``).

    Field paths are checked now, so a typo fails at start-up rather than on a download.
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
