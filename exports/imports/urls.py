"""Include before the admin: ``path("admin/import/", include("exports.imports.urls"))``.

Every view is wrapped by ``admin.site.admin_view`` (login, staff, CSRF, no caching).
"""

from django.contrib import admin
from django.urls import path

from . import admin_views

app_name = "exports_import"

wrap = admin.site.admin_view

urlpatterns = [
    path(
        "<str:app_label>/<str:model_name>/",
        wrap(admin_views.UploadView.as_view()),
        name="upload",
    ),
    path(
        "<str:app_label>/<str:model_name>/<str:token>/confirm/",
        wrap(admin_views.confirm_view),
        name="confirm",
    ),
    path(
        "<str:app_label>/<str:model_name>/<str:token>/rejects.csv",
        wrap(admin_views.rejects_view),
        name="rejects",
    ),
]
