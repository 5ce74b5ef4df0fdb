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
    # The cursor and keyset engines have the database print each value's canonical text
    # where its SQL can (exports.formats.cells); False formats every value in Python.
    "SERVER_TEXT": True,
    # Downloads meant for people (HTTP, admin) neutralise spreadsheet formulas by default.
    "HTTP_ESCAPE_FORMULAS": True,
    # Downloads add a UTF-8 byte order mark (for Excel) unless the request says otherwise.
    "HTTP_BOM": False,
    # Downloads: seconds a client may take no data before the export is ended (its database
    # session terminated, the transfer aborted, the reason logged); None never ends it.
    "CLIENT_STALL_TIMEOUT": 300,
    # Imports: the largest value (in characters) one field may hold.
    "IMPORT_MAX_FIELD_SIZE": 1024 * 1024,
    # Imports: the most columns a file may have.
    "IMPORT_MAX_COLUMNS": 1000,
    # Imports: the longest record (in characters, quoted line breaks included).
    "IMPORT_MAX_LINE_LENGTH": 4 * 1024 * 1024,
    # Admin imports: the largest upload accepted (bytes); larger uploads get a 413.
    "IMPORT_MAX_UPLOAD_SIZE": 100 * 1024 * 1024,
    # Admin imports: the most bytes a compressed (.gz) upload may hold once decompressed.
    "IMPORT_MAX_DECOMPRESSED_SIZE": 100 * 1024 * 1024,
    # Admin imports: the most rows (records, blank lines too) one check or import reads.
    "IMPORT_MAX_ROWS": 200_000,
    # Admin imports: the check (and the import) stops after this many rejected rows.
    "IMPORT_MAX_ERRORS": 1000,
    # Admin imports: the largest reject file (bytes); the import stops when it is reached.
    "IMPORT_MAX_REJECTS_SIZE": 10 * 1024 * 1024,
    # Admin imports: where uploads wait for Confirm (None: exports-imports-<uid> in the
    # system's temporary directory). Made 0700; refused if a symlink or another user's.
    "IMPORT_STAGING_DIR": None,
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
