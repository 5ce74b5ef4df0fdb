"""JSON Lines: one JSON object per row, keys in column order, ``\\n`` after every line.

Values are JSON numbers for integers and floats, ``true``/``false``, ``null``, the JSON value
itself for JSON fields, and strings holding the canonical text form for everything else
(decimals included, so no precision is lost to a reader's floats).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..textforms import Kind, kind_of, neutralise_formula, text_formatter
from .base import Writer


def _identity(value: Any) -> Any:
    return value


class JSONLinesWriter(Writer):
    name = "jsonl"
    media_type = "application/jsonl"
    extension = "jsonl"

    def __init__(self, columns, **kwargs: Any) -> None:
        super().__init__(columns, **kwargs)
        self._keys = [c.label for c in self.columns]
        self._converters = [self._converter(c) for c in self.columns]
        self._dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

    def _converter(self, column) -> Callable[[Any], Any]:
        kind = kind_of(column.field)
        if kind in (Kind.INTEGER, Kind.FLOAT, Kind.BOOLEAN):
            return _identity
        if kind is Kind.TEXT:
            return neutralise_formula if self.escape_formulas else _identity
        if kind is Kind.JSON:
            return json.loads
        return text_formatter(kind, vendor=self.vendor)

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        keys, converters, dumps = self._keys, self._converters, self._dumps
        lines = [
            dumps(
                {
                    key: None if value is None else convert(value)
                    for key, convert, value in zip(keys, converters, row, strict=True)
                }
            )
            for row in rows
        ]
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
