"""Read kinds_bench.py's outputs back, and compare their values with the database's.

The physical limit's file (``psql \\copy`` or the ``sqlite3`` shell) holds the database's own
text of each value; exportdata writes its canonical forms. Both are parsed with Python's csv
module (or json for JSON Lines) and compared value by value, by kind: floats as ``float()``
(``-0`` and ``NaN`` included), timestamps parsed (a naive SQLite one is UTC), booleans from
``t``/``true``/``1``, durations from PostgreSQL's interval text or ISO 8601, binary from ``\\x``
hex or base64, JSON parsed with exact numbers, IP addresses parsed.

Python's csv module reads a quoted ``""`` and an empty NULL alike, so an empty cell is NULL in a
nullable column and ``""`` in a NOT NULL text column; the benchmark's nullable columns never hold
an empty non-NULL value.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import ipaddress
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_duration

UTC = dt.UTC
TRUE = frozenset({"t", "true", "True", "1"})
FALSE = frozenset({"f", "false", "False", "0"})
csv.field_size_limit(1 << 30)


def _float(text: str) -> str:
    return repr(float(text))  # repr tells -0.0 from 0.0, and nan equals nan


def _bool(text: str) -> bool:
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _duration(text: str) -> dt.timedelta:
    value = parse_duration(text)
    if value is None:
        raise ValueError(f"{text!r} is not a duration")
    return value


def _binary(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    return base64.b64decode(text, validate=True)


def _tagged(value: Any) -> Any:
    """A decoded JSON value where true is not 1 and 1.0 equals 1.00 (numbers as Decimal)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float | Decimal):
        return ("number", Decimal(value))
    if isinstance(value, dict):
        return {key: _tagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tagged(item) for item in value]
    return value


def _json(text: str) -> Any:
    return _tagged(json.loads(text, parse_float=Decimal))


PARSERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "decimal": Decimal,
    "float": _float,
    "bool": _bool,
    "text": str,
    "date": dt.date.fromisoformat,
    "datetime": _datetime,
    "time": dt.time.fromisoformat,
    "duration": _duration,
    "uuid": uuid.UUID,
    "json": _json,
    "binary": _binary,
    "ip": ipaddress.ip_address,
}


def csv_value(kind: str, nullable: bool, text: str) -> Any:
    # Only text and binary (base64 of b"" is "") have an empty value that is not NULL.
    if text == "" and (nullable or kind not in ("text", "binary")):
        return None
    return PARSERS[kind](text)


def json_value(kind: str, value: Any) -> Any:
    """A value of exportdata's JSON Lines, as csv_value gives the same value's text."""
    if value is None:
        return None
    if kind == "json":
        return _tagged(value)
    if kind in ("int", "float", "bool", "decimal") and not isinstance(value, str):
        value = {"int": int, "float": float, "bool": bool, "decimal": Decimal}[kind](value)
        return repr(value) if kind == "float" else value
    return PARSERS[kind](value)


def csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as text:
        yield from csv.reader(text)


def jsonl_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as text:
        yield from text


JSONL_ID = re.compile(r'\{\s*"id"\s*:\s*(\d+)')


def read_back(path: Path, *, jsonl: bool, width: int) -> tuple[int, str]:
    """Count the records of an output; the detail is empty when ids ascend and widths match.

    A JSON Lines record is only looked at for its leading id (compare() parses the ones it
    compares): parsing a million wide lines just to count them would take longer than the export.
    """
    rows: Iterator = jsonl_lines(path) if jsonl else itertools.islice(csv_rows(path), 1, None)
    count, last = 0, None
    for record in rows:
        if jsonl:
            match = JSONL_ID.match(record)
            current, cells = (int(match[1]) if match else -1), width
        else:
            current, cells = int(record[0]), len(record)
        if (last is not None and current <= last) or cells != width:
            return count, f"record {count + 1}: id {current} after {last}, {cells} cells"
        last = current
        count += 1
    return count, ""


def compare(
    reference: Path,
    other: Path,
    *,
    columns: list[tuple[str, str, bool]],
    jsonl: bool,
    every: int,
) -> tuple[int, str]:
    """Compare every ``every``-th record of ``other`` with ``reference``, value by value.

    ``columns`` are (name, kind, nullable) in file order. Returns the number of records
    compared and a description of the first differences ("" when there are none).
    """
    names = [name for name, _, _ in columns]
    ref_rows = csv_rows(reference)
    header = next(ref_rows, None)
    if header != names:
        return 0, f"reference header {header} is not {names}"
    if jsonl:
        other_rows: Iterator = jsonl_lines(other)
    else:
        other_rows = csv_rows(other)
        other_header = next(other_rows, None)
        if other_header != names:
            return 0, f"header {other_header} is not {names}"
    checked, problems = 0, []
    for number, (ref, row) in enumerate(itertools.zip_longest(ref_rows, other_rows), 1):
        if ref is None or row is None:
            problems.append(f"record {number}: one file ends before the other")
            break
        if number % every and number != 1:
            continue
        if jsonl:
            row = json.loads(row, parse_float=Decimal)
            if list(row) != names:
                problems.append(f"record {number}: keys {list(row)}")
                break
            row = list(row.values())
        checked += 1
        for (name, kind, nullable), expected, got in zip(columns, ref, row, strict=True):
            try:
                want = csv_value(kind, nullable, expected)
                have = json_value(kind, got) if jsonl else csv_value(kind, nullable, got)
            except (ValueError, TypeError) as error:
                problems.append(f"record {number}, {name}: {error}")
                continue
            if want != have:
                problems.append(f"record {number}, {name}: database {expected!r}, file {got!r}")
        if len(problems) >= 3:
            break
    return checked, "; ".join(problems)[:600]
