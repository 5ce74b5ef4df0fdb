from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The admin serves the import pages too (ImportAdminMixin): no URL line of their own.
    path("admin/", admin.site.urls),
    path("exports/", include("exports.urls")),
]
