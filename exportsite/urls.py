from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # Before the admin's own URLs, which would otherwise take "admin/import/...".
    path("admin/import/", include("exports.imports.urls")),
    path("admin/", admin.site.urls),
    path("exports/", include("exports.urls")),
]
