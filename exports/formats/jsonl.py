"""JSON Lines: one JSON object per row, keys in column order, ``\\n`` after every line.

Values are JSON numbers for integers and floats, ``true``/``false``, ``null``, the JSON value
itself for JSON fields, and strings holding the canonical text form for everything else
(decimals included, so no precision is lost to a reader's floats). JSON fields are written in
their canonical text (PostgreSQL's ``jsonb`` form), so every backend gives the same bytes; a
float that JSON cannot hold (NaN, infinities) is written as a string of its canonical text.
With formula neutralising on (downloads for people), a text value holds the same neutralised
text as its CSV cell, and a JSON value gets the JSON cell rule inside its strings.

Lines are assembled from each value's JSON text rather than by encoding a dict per row: that
lets the canonical JSON text pass through as it is, and saves building a dict per row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

from ..textforms import (
    Kind,
    kind_of,
    neutralise_formula,
    neutralise_json_formula,
    text_formatter,
)
from .base import Writer


def _float(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return encode_basestring(repr(value))


def _boolean(value: bool) -> str:
    return "true" if value else "false"


class JSONLinesWriter(Writer):
    name = "jsonl"
    verbose_name = "JSON Lines"
    media_type = "application/jsonl"
    extension = "jsonl"
    copy_lines = True

    def __init__(self, columns, **kwargs: Any) -> None:
        super().__init__(columns, **kwargs)
        self._prefixes = [encode_basestring(c.label) + ": " for c in self.columns]
        self._converters = [self._converter(c) for c in self.columns]

    def _converter(self, column) -> Callable[[Any], str]:
        """The function turning a non-NULL value of ``column`` into its JSON text."""
        kind = kind_of(column.field)
        if kind is Kind.INTEGER:
            return str
        if kind is Kind.FLOAT:
            return _float
        if kind is Kind.BOOLEAN:
            return _boolean
        if kind is Kind.TEXT:
            if self.escape_formulas:
                return lambda value: encode_basestring(neutralise_formula(str(value)))
            return lambda value: encode_basestring(str(value))
        to_text = text_formatter(kind, vendor=self.vendor)
        if kind is Kind.JSON:
            if self.escape_formulas:
                return lambda value: neutralise_json_formula(to_text(value))
            return to_text
        return lambda value: encode_basestring(to_text(value))

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        if not rows:
            return b""
        pairs = list(zip(self._prefixes, self._converters, strict=True))
        lines = [
            "{"
            + ", ".join(
                [
                    prefix + ("null" if value is None else convert(value))
                    for (prefix, convert), value in zip(pairs, row, strict=True)
                ]
            )
            + "}"
            for row in rows
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")
