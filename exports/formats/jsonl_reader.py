"""The JSON Lines reader: one JSON object per line, its keys the columns.

The first object's keys are the header, in their order; every later object must have the
same keys (in any order), or it is a row error naming the missing and unexpected ones. Blank
lines are skipped; an empty file is an empty table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..imports.errors import (
    BAD_JSON_LINE,
    DELIMITER_JSONL,
    JSON_KEYS,
    NOT_AN_OBJECT,
    NULL_JSONL,
    ROW_TOO_LONG,
    ImportFileError,
    RowError,
)
from .lines import iter_physical_lines
from .reading import Reader, Record, Table


class JSONLinesReader(Reader):
    name = "jsonl"
    extension = "jsonl"
    values = "json"
    empty_ok = True  # no header line: an empty file holds no rows

    def __init__(self, *, delimiter: str | None, null: str | None, max_line: int) -> None:
        super().__init__(delimiter=delimiter, null=null, max_line=max_line)
        if delimiter is not None:
            raise ImportFileError(DELIMITER_JSONL)
        if null is not None:
            raise ImportFileError(NULL_JSONL)

    def read(self, texts: Iterator[str]) -> Table | None:
        records = iter_jsonl_records(texts, max_line=self.max_line)
        first = next(records, None)
        if first is None:
            return None
        if first.error:
            raise ImportFileError(str(RowError(first.line, "", first.error)))
        columns = list(first.values)
        return Table(columns=columns, records=in_header_order(first, records, columns))


def in_header_order(first: Record, rest: Iterator[Record], keys: list[str]) -> Iterator[Record]:
    """The records with their values as lists in the order of ``keys``.

    An object with other keys becomes a record error naming the missing and unexpected ones.
    """
    key_set = set(keys)
    yield first._replace(values=[first.values[k] for k in keys])
    for record in rest:
        values = record.values
        if values is None:
            yield record
        elif values.keys() != key_set:
            yield record._replace(values=None, error=_key_problem(values, keys, key_set))
        else:
            yield record._replace(values=[values[k] for k in keys])


def _key_problem(values: dict, keys: list[str], key_set: set[str]) -> str:
    extra = [k for k in values if k not in key_set]
    missing = [k for k in keys if k not in values]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    return JSON_KEYS.format(problems="; ".join(parts))


def iter_jsonl_records(texts: Iterator[str], *, max_line: int) -> Iterator[Record]:
    """Yield JSON Lines records; values are dicts (blank lines are skipped)."""
    loads = json.JSONDecoder().decode
    line_no = 0
    for line, _term, _quotes in iter_physical_lines(texts, max_length=max_line):
        line_no += 1
        if line is None:
            yield Record(line_no, None, "", ROW_TOO_LONG.format(limit=max_line))
            continue
        if not line.strip():
            continue
        try:
            value = loads(line)
        except ValueError as exc:
            yield Record(line_no, None, line, BAD_JSON_LINE.format(error=exc))
            continue
        if not isinstance(value, dict):
            yield Record(line_no, None, line, NOT_AN_OBJECT)
            continue
        yield Record(line_no, value, line)
