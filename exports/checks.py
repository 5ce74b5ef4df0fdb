"""System checks for ``settings.EXPORTS`` (run by ``manage.py check`` and at start-up)."""

from __future__ import annotations

from os import PathLike
from os.path import isabs
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from .conf import DEFAULTS

ENGINE_CHOICES = ("auto", "cursor", "keyset", "copy")
IMPORT_LIMITS = (
    "IMPORT_MAX_FIELD_SIZE",
    "IMPORT_MAX_COLUMNS",
    "IMPORT_MAX_LINE_LENGTH",
    "IMPORT_MAX_UPLOAD_SIZE",
    "IMPORT_MAX_DECOMPRESSED_SIZE",
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_ERRORS",
    "IMPORT_MAX_REJECTS_SIZE",
)


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    user = getattr(settings, "EXPORTS", None)
    if user is None:
        return []
    if not isinstance(user, dict):
        return [
            Error(
                "settings.EXPORTS must be a dict.",
                hint="For example EXPORTS = {'CHUNK_SIZE': 5000}.",
                id="exports.E001",
            )
        ]
    errors = []
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        errors.append(
            Error(
                f"settings.EXPORTS has unknown keys: {', '.join(unknown)}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="exports.E002",
            )
        )
    chunk = user.get("CHUNK_SIZE", DEFAULTS["CHUNK_SIZE"])
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        errors.append(
            Error(
                f"settings.EXPORTS['CHUNK_SIZE'] must be a positive integer, not {chunk!r}.",
                hint="Between 1,000 and 20,000 suits most tables.",
                id="exports.E003",
            )
        )
    engine = user.get("ENGINE", DEFAULTS["ENGINE"])
    if engine not in ENGINE_CHOICES:
        errors.append(
            Error(
                f"settings.EXPORTS['ENGINE'] must be one of {', '.join(ENGINE_CHOICES)}, "
                f"not {engine!r}.",
                id="exports.E004",
            )
        )
    for key in ("HTTP_ESCAPE_FORMULAS", "HTTP_BOM", "SERVER_TEXT"):
        if not isinstance(user.get(key, DEFAULTS[key]), bool):
            errors.append(
                Error(f"settings.EXPORTS[{key!r}] must be True or False.", id="exports.E005")
            )
    stall = user.get("CLIENT_STALL_TIMEOUT", DEFAULTS["CLIENT_STALL_TIMEOUT"])
    if stall is not None and (
        isinstance(stall, bool) or not isinstance(stall, int | float) or not stall > 0
    ):
        errors.append(
            Error(
                f"settings.EXPORTS['CLIENT_STALL_TIMEOUT'] must be a positive number of seconds "
                f"or None, not {stall!r}.",
                hint=f"The default is {DEFAULTS['CLIENT_STALL_TIMEOUT']}.",
                id="exports.E008",
            )
        )
    for key in IMPORT_LIMITS:
        value = user.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    f"settings.EXPORTS[{key!r}] must be a positive integer, not {value!r}.",
                    hint=f"The default is {DEFAULTS[key]:,}.",
                    id="exports.E006",
                )
            )
    staging = user.get("IMPORT_STAGING_DIR")
    if staging is not None and not (isinstance(staging, str | PathLike) and isabs(staging)):
        errors.append(
            Error(
                f"settings.EXPORTS['IMPORT_STAGING_DIR'] must be an absolute path or None, "
                f"not {staging!r}.",
                hint="A private directory of the user the site runs as, on the servers' disk.",
                id="exports.E007",
            )
        )
    return errors
