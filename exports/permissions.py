"""The ``export`` permission: one per exportable model (``shop.export_order``), on top of ``view``.

The permissions are created after every ``migrate`` for the models declared in the registry
(see :func:`create_export_permissions`), so the demo models need no ``Meta.permissions``.
Grant them like any other permission: in the admin's user or group form ("Can export order"),
or ``user.user_permissions.add(Permission.objects.get(codename="export_order",
content_type__app_label="shop"))``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db import models, router

from . import registry

EXPORT = "export"


def export_codename(model: type[models.Model]) -> str:
    return get_permission_codename(EXPORT, model._meta)


def export_permission(model: type[models.Model]) -> str:
    """The permission name as ``has_perm`` takes it, e.g. ``shop.export_order``."""
    return f"{model._meta.app_label}.{export_codename(model)}"


def view_permission(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{get_permission_codename('view', model._meta)}"


def is_active_staff(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def can_export(user: Any, model: type[models.Model]) -> bool:
    """Active staff holding both ``view`` and ``export`` on ``model`` (superusers hold all)."""
    return (
        is_active_staff(user)
        and user.has_perm(view_permission(model))
        and user.has_perm(export_permission(model))
    )


def create_export_permissions(*, using: str = "default", **kwargs: Any) -> None:
    """Create ``export_<model>`` for every declared model (a ``post_migrate`` receiver)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    if not router.allow_migrate_model(using, Permission):
        return
    for entry in registry.all_exportables():
        opts = entry.model._meta
        content_type = ContentType.objects.db_manager(using).get_for_model(
            entry.model, for_concrete_model=False
        )
        Permission.objects.using(using).get_or_create(
            content_type=content_type,
            codename=export_codename(entry.model),
            defaults={"name": f"Can export {opts.verbose_name_raw}"},
        )
