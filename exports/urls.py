"""Include at ``exports/``: serves ``/exports/<app_label>/<model_name>.<format>``."""

from django.urls import re_path

from . import views

app_name = "exports"

urlpatterns = [
    re_path(
        r"^(?P<app_label>\w+)/(?P<model_name>\w+)\.(?P<format>\w+)$",
        views.download,
        name="download",
    ),
]
