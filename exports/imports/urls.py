"""Removed: the admin import is served by the ModelAdmin itself.

Replace ``path("admin/import/", include("exports.imports.urls"))`` in your URLconf by
``ImportAdminMixin`` (or ``ImportExportAdminMixin``) on the ModelAdmin of each importable model
(see the README's upgrade notes). Including this module fails at start-up with that advice
rather than leaving pages that no longer exist behind a URL.
"""

from django.core.exceptions import ImproperlyConfigured

REMOVED = (
    'exports.imports.urls was removed: delete path("admin/import/", include('
    '"exports.imports.urls")) and add exports.admin.ImportAdminMixin (or ImportExportAdminMixin) '
    "to the ModelAdmin of each importable model; its import pages are served under the "
    "model's admin URLs, on whichever AdminSite it is registered with."
)

raise ImproperlyConfigured(REMOVED)
