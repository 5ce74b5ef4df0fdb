"""``{% import_url opts as url %}``: a model's admin import page, for a custom template.

The page of the ModelAdmin registered for ``opts.model`` on the current admin site (the
request's ``current_app``), if it uses :class:`~exports.imports.admin_views.ImportAdminMixin`
and the user may import; otherwise "".
"""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.sites import all_sites

from ..imports.admin_views import ImportAdminMixin

register = template.Library()


@register.simple_tag(takes_context=True)
def import_url(context: template.Context, opts: Any) -> str:
    request = context.get("request")
    if request is None:
        return ""
    name = getattr(request, "current_app", None) or "admin"
    for site in all_sites:
        model_admin = site._registry.get(opts.model) if site.name == name else None
        if isinstance(model_admin, ImportAdminMixin) and model_admin.has_import_permission(request):
            return model_admin.import_url()
    return ""
