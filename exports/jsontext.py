"""JSON as PostgreSQL's ``jsonb`` prints it: the canonical text of the JSON kind."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any


def _jsonb_key(item: tuple[str, Any]) -> tuple[int, bytes]:
    encoded = item[0].encode("utf-8")
    return (len(encoded), encoded)


def dump_jsonb(value: Any) -> str:
    """Write a decoded JSON value the way PostgreSQL prints ``jsonb``.

    Keys are ordered as jsonb stores them (shorter first, then bytewise), separators are
    ``", "`` and ``": "``, non-ASCII characters are kept, numbers keep their text when they
    were parsed as :class:`~decimal.Decimal`.
    """
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=_jsonb_key)
        return "{" + ", ".join(f"{encode_basestring(k)}: {dump_jsonb(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dump_jsonb(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_json_text(text: str) -> str:
    """Canonicalise JSON text as stored by a database without ``jsonb`` (SQLite, ...).

    Columns often repeat a few small values (``{}``, a handful of shapes): those are
    remembered, so each is parsed once per process.
    """
    if len(text) <= CACHED_LENGTH:
        return _cached_canonical(text)
    return dump_jsonb(json.loads(text, parse_float=Decimal))


CACHED_LENGTH = 200


@functools.lru_cache(maxsize=4096)
def _cached_canonical(text: str) -> str:
    return dump_jsonb(json.loads(text, parse_float=Decimal))
