"""``{% import_url opts as url %}``: the admin import page of a model, if the user may import."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from .. import registry
from ..imports.permissions import allowed_modes

register = template.Library()


@register.simple_tag(takes_context=True)
def import_url(context, opts) -> str:
    """The URL of the import page, or "" (not importable, no permission, URLs not included)."""
    request = context.get("request")
    entry = registry.get(opts.model)
    if request is None or entry is None or not entry.importable:
        return ""
    if not allowed_modes(request.user, opts.model):
        return ""
    try:
        return reverse("exports_import:upload", args=(opts.app_label, opts.model_name))
    except NoReverseMatch:
        return ""
