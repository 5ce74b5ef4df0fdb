"""Users for the download view and admin tests: one per permission case."""

from __future__ import annotations

from django.contrib.auth.models import Permission, User

PASSWORD = "correct horse battery staple"


def permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def make_user(
    username: str,
    *,
    perms: tuple[str, ...] = (),
    is_staff: bool = True,
    is_active: bool = True,
    is_superuser: bool = False,
) -> User:
    """A user holding ``perms`` (``"shop.view_order"``...), with :data:`PASSWORD`."""
    user = User.objects.create_user(
        username,
        password=PASSWORD,
        is_staff=is_staff,
        is_active=is_active,
        is_superuser=is_superuser,
    )
    for name in perms:
        app_label, codename = name.split(".")
        user.user_permissions.add(permission(app_label, codename))
    return user


ORDER_EXPORTER = ("shop.view_order", "shop.export_order")
