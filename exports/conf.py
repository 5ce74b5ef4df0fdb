"""The app's settings: one namespaced dict, ``settings.EXPORTS``, read through one cached accessor.

Every key is optional; :data:`DEFAULTS` documents them. Bad values are reported by the system
checks in :mod:`exports.checks` (ids ``exports.E001``...).
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Rows fetched per database round trip, and rows per bytes chunk written.
    "CHUNK_SIZE": 5000,
    # Engine used when none is asked for: "auto", "cursor", "keyset" or "copy".
    "ENGINE": "auto",
    # Downloads meant for people (HTTP, admin) neutralise spreadsheet formulas by default.
    "HTTP_ESCAPE_FORMULAS": True,
    # Downloads add a UTF-8 byte order mark (for Excel) unless the request says otherwise.
    "HTTP_BOM": False,
    # Imports: the largest value (in characters) one field may hold.
    "IMPORT_MAX_FIELD_SIZE": 1024 * 1024,
    # Imports: the most columns a file may have.
    "IMPORT_MAX_COLUMNS": 1000,
    # Imports: the longest record (in characters, quoted line breaks included).
    "IMPORT_MAX_LINE_LENGTH": 4 * 1024 * 1024,
    # Admin imports: the largest upload accepted (bytes); larger uploads get a 413.
    "IMPORT_MAX_UPLOAD_SIZE": 100 * 1024 * 1024,
}


@functools.cache
def get_settings() -> dict[str, Any]:
    """Return ``DEFAULTS`` updated with ``settings.EXPORTS`` (cached until the setting changes)."""
    user = getattr(settings, "EXPORTS", None) or {}
    return {**DEFAULTS, **user}


def get(name: str) -> Any:
    return get_settings()[name]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "EXPORTS":
        get_settings.cache_clear()
