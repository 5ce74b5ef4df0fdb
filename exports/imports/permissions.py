"""The ``import`` permission: one per importable model (``shop.import_order``).

Importing also needs the model's ``add`` permission (new rows: create, upsert) and ``change``
permission (existing rows: update, upsert), as the admin asks for its own forms.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db import models, router

from .. import registry
from ..permissions import is_active_staff

IMPORT = "import"
MODE_PERMISSIONS = {"create": ("add",), "update": ("change",), "upsert": ("add", "change")}


def import_codename(model: type[models.Model]) -> str:
    return get_permission_codename(IMPORT, model._meta)


def import_permission(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{import_codename(model)}"


def allowed_modes(user: Any, model: type[models.Model]) -> tuple[str, ...]:
    """The import modes ``user`` may use on ``model`` (none without the import permission)."""
    if not is_active_staff(user) or not user.has_perm(import_permission(model)):
        return ()
    opts = model._meta
    return tuple(
        mode
        for mode, actions in MODE_PERMISSIONS.items()
        if all(
            user.has_perm(f"{opts.app_label}.{get_permission_codename(a, opts)}") for a in actions
        )
    )


def create_import_permissions(*, using: str = "default", **kwargs: Any) -> None:
    """Create ``import_<model>`` for every importable model (a ``post_migrate`` receiver)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    if not router.allow_migrate_model(using, Permission):
        return
    for entry in registry.all_exportables():
        if not entry.importable:
            continue
        content_type = ContentType.objects.db_manager(using).get_for_model(
            entry.model, for_concrete_model=False
        )
        Permission.objects.using(using).get_or_create(
            content_type=content_type,
            codename=import_codename(entry.model),
            defaults={"name": f"Can import {entry.model._meta.verbose_name_raw}"},
        )
