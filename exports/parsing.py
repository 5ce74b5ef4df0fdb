"""Parse canonical text (and the common spellings people type) back into Python values.

Used to type ``--filter`` values and query-string filters. The parsers themselves live in
:data:`exports.kinds.KINDS`, shared with the importer's binder so both accept the same text.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from .kinds import (  # noqa: F401  (re-exported)
    FALSE_WORDS,
    KIND_NAMES,
    KINDS,
    TRUE_WORDS,
    ParseError,
    kind_of,
    parse_bool,
    parse_datetime,
)


def parse_value(field: models.Field, text: str) -> Any:
    """Parse ``text`` as a value of ``field``'s kind, raising ParseError on bad input.

    Text kinds (and JSON, which has its own rules per caller) go through ``field.to_python``.
    """
    parse = KINDS[kind_of(field)].parse
    if parse is not None:
        return parse(text)
    try:
        return field.to_python(text)
    except ValidationError as exc:
        raise ParseError(f'"{text}": {" ".join(exc.messages)}') from None
