from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the system checks)
        from .imports.permissions import create_import_permissions
        from .permissions import create_export_permissions
        from .registry import autodiscover

        autodiscover()
        post_migrate.connect(create_export_permissions, sender=self)
        post_migrate.connect(create_import_permissions, sender=self)
