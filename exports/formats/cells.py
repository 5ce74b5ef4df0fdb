"""CSV cells printed by the database, for the cursor and keyset engines.

Formatting millions of values in Python (a ``datetime`` built by the driver, then printed
again) is most of what those engines cost. Where a kind's canonical text has SQL on the
connection's database (:mod:`exports.sqltext`), the database prints the cell instead: the
canonical text, quoted as :mod:`exports.formats.csv` quotes it, ``""`` for an empty text or
binary, nothing for NULL; the writer joins each run of such cells into one value per row.

Left to Python, where its formatter is cheaper or SQL cannot match it exactly:

- floats (``repr`` costs less than the SQL that imitates it; the copy engine has no choice),
  JSON (PostgreSQL's ``jsonb`` text would be printed once per test of the quoting; SQLite's
  needs rewriting) and text kinds whose values are not plain strings (custom fields);
- text with formula neutralising on (its SQL is PostgreSQL's regular expressions);
- on SQLite: decimals (stored as floats, which Django rounds to 15 digits), binary (no
  base64 in SQLite), and aware datetimes when the connection stores them in another zone
  than UTC.

On SQLite, dates, times, datetimes, durations and UUIDs are printed only when stored in the
form Django writes (each has a check, :data:`exports.kinds.SQLITE_CHECKS`); a run holding
such a cell is NULL when one fails, and a second value, NULL unless a check failed, carries the
run's stored values as a JSON array, which Django's converters and the Python formatters turn
into the run's cells. Values stored in other forms are thus printed exactly as the Python
engines print them, at the cost of one NULL per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..columns import Column
from ..expressions import sql_string
from ..kinds import SQLITE_CHECKS, Kind, is_plain_text, kind_of, postgresql_sql, sqlite_sql

QUOTED_KINDS = frozenset({Kind.TEXT, Kind.JSON})
PYTHON_KINDS = frozenset({Kind.FLOAT, Kind.JSON})
# The function finding a character in a text, per database.
_FIND = {"postgresql": "strpos", "sqlite": "instr"}


@dataclass(frozen=True)
class CellOptions:
    delimiter: str
    quote_all: bool  # a delimiter that canonical text of any kind may hold
    single_column: bool  # a line holding only "\." is quoted (COPY's end-of-data marker)
    escape_formulas: bool


@dataclass(frozen=True)
class Cell:
    template: str  # the cell's text, '' for NULL; NULL where the check fails
    check: str | None = None  # true where ``template`` can print the value (or it is NULL)


def text_template(column: Column, connection: Any, escape_formulas: bool) -> tuple[str, str | None]:
    """The template printing the column's canonical text on ``connection`` and its check (see
    the module docstring), or ``("", None)`` when Python formats it."""
    kind = kind_of(column.field)
    vendor = connection.vendor
    if kind in PYTHON_KINDS or vendor not in _FIND:
        return "", None
    if kind is Kind.TEXT and (escape_formulas or not is_plain_text(column.field)):
        return "", None
    if vendor == "postgresql":
        return postgresql_sql(kind) or "", None
    stored_in_utc = getattr(connection, "timezone_name", "UTC") == "UTC"
    return sqlite_sql(kind, stored_in_utc=stored_in_utc) or "", SQLITE_CHECKS.get(kind)


def _literal(text: str) -> str:
    """A SQL string literal inside a template that ``str.format`` fills (``{`` doubled)."""
    return sql_string(text).replace("{", "{{").replace("}", "}}")


def csv_cell(column: Column, connection: Any, options: CellOptions) -> Cell | None:
    """The cell's SQL, or None when Python formats it."""
    text, check = text_template(column, connection, options.escape_formulas)
    if not text:
        return None
    kind = kind_of(column.field)
    value = f"({text})"
    if kind in QUOTED_KINDS or options.quote_all:
        find = _FIND[connection.vendor]
        specials = [options.delimiter, '"', "\r", "\n"]
        tests = [f"{value} = ''"] + [f"{find}({value}, {_literal(c)}) > 0" for c in specials]
        if options.single_column:
            tests.append(f"{value} = {_literal(chr(92) + '.')}")
        value = (
            f"CASE WHEN {' OR '.join(tests)}"
            f" THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END"
        )
    elif kind is Kind.BINARY:
        # The base64 of b"" is "": written "", as the empty string is, to stay apart from NULL.
        value = f"coalesce(nullif({value}, ''), '\"\"')"
    if check is None:
        return Cell(template=f"CASE WHEN {{0}} IS NULL THEN '' ELSE {value} END")
    return Cell(
        template=f"CASE WHEN {{0}} IS NULL THEN '' ELSE {value} END",
        check=f"({{0}} IS NULL OR {check})",
    )
