"""Binding: a record's values in, typed values (one per plan target) or row errors out.

The converters (:mod:`exports.imports.converters`) parse each value and apply its field's
rules (:mod:`exports.imports.rules`); the binder applies them to a record, checks its width
and the field-size limit, and names every bad column of a row that does not bind.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from ..formats.reading import Record
from .converters import json_converter, text_converter, text_parser
from .errors import FIELD_COUNT, FIELD_TOO_LONG, RowError
from .plan import Plan
from .rules import BadValue

__all__ = ["Binder", "text_parser"]  # text_parser: its old import path


class Binder:
    """Turns records into lists of typed values (one per plan target), or row errors.

    ``values`` is the reader's (:attr:`exports.formats.reading.Reader.values`): ``"text"``
    values are parsed from their canonical text forms, ``"json"`` values are checked as the
    JSON types they already are.
    """

    def __init__(
        self, plan: Plan, *, values: str, max_field: int, using: str, json_text: bool = False
    ) -> None:
        vendor = connections[using].vendor
        self.plan = plan
        self.max_field = max_field
        self.names = [t.name for t in plan.targets]
        self.indexes = [t.index for t in plan.targets]
        if values == "json":
            self.converters = [json_converter(t.value_field, vendor=vendor) for t in plan.targets]
        else:
            self.converters = [
                text_converter(t.value_field, vendor=vendor, json_text=json_text)
                for t in plan.targets
            ]
        self.columns = list(zip(self.indexes, self.names, self.converters, strict=True))
        # Every column of the file, in order.
        self.in_order = self.indexes == list(range(plan.width))

    def bind(self, record: Record) -> tuple[list[Any] | None, list[RowError]]:
        values = record.values
        if len(values) != self.plan.width:
            message = FIELD_COUNT.format(expected=self.plan.width, found=len(values))
            return None, [RowError(record.line, "", message)]
        long_row = len(record.raw) > self.max_field
        if not long_row:
            # The common case, a row that binds: one comprehension, no per-value try.
            try:
                if self.in_order:
                    return [
                        convert(v) for convert, v in zip(self.converters, values, strict=True)
                    ], []
                return [convert(values[index]) for index, _name, convert in self.columns], []
            except BadValue:
                pass  # bind it again below, value by value, to name every bad column
        out = []
        errors: list[RowError] = []
        for index, name, convert in self.columns:
            value = values[index]
            if long_row and isinstance(value, str) and len(value) > self.max_field:
                errors.append(
                    RowError(record.line, name, FIELD_TOO_LONG.format(limit=self.max_field))
                )
                continue
            try:
                out.append(convert(value))
            except BadValue as exc:
                errors.append(RowError(record.line, name, str(exc)))
        return (None, errors) if errors else (out, errors)
