"""Formula neutralising, and the canonical text forms' old home (now :mod:`exports.kinds`).

The names re-exported from :mod:`exports.kinds` below keep older imports working.
"""

from __future__ import annotations

import re

from .kinds import (  # noqa: F401  (re-exported)
    PLAIN_TEXT_TYPES,
    UTC,
    Kind,
    as_text,
    canonical_json_text,
    dump_jsonb,
    is_plain_text,
    kind_of,
    text_formatter,
    uses_tz,
)

# Formula neutralising (OWASP CSV injection) for downloads meant for people; the rule is the
# README's "Spreadsheet formulas". Each pattern is written once, in a syntax that Python's
# ``re`` and PostgreSQL's regular expressions read alike, so the copy engine's SQL twin below
# prints the same bytes as the Python writers.
FORMULA_SIGNS = r"=+\-@\uFF1D\uFF0B\uFF0D\uFF20\u2212"
# Readers trim some blanks (LibreOffice's "Trim spaces"; a BOM at the start of a file is taken
# for the encoding mark), and which ones differs by program: a sign after any of them counts.
# LibreOffice drops NUL when it reads a CSV: "x;<NUL>=1+1" read with ";" ran as a formula.
FORMULA_BLANKS = r" \u00A0\u2000-\u200D\u202F\u205F\u2060\u3000\uFEFF\x00"
# Where a reader may start a new cell inside a value: another locale's separator, a tab, or a
# line break (quoting does not stop a reader that splits on another separator).
CELL_BREAKS = r",;\t\r\n"
LEADING_FORMULA = rf'[\t\r\n\x00]|[{FORMULA_BLANKS}"]*[{FORMULA_SIGNS}]'
# A break, then a sign after blanks: replaced by the break, a "'", and the rest. Blanks and
# signs hold no break, so consuming them never hides the next break (a lookahead would say
# the same, and PostgreSQL runs it far slower).
INNER_FORMULA = rf'([{CELL_BREAKS}])([{FORMULA_BLANKS}"]*[{FORMULA_SIGNS}])'
# jsonb text has ", " between items and a number may follow it: JSON cells skip no ASCII
# space, so the rule only ever lands inside JSON strings and the cell stays valid JSON.
INNER_JSON_FORMULA = rf'([{CELL_BREAKS}])([{FORMULA_BLANKS[1:]}"]*[{FORMULA_SIGNS}])'
INSERT = r"\1'\2"

_leading = re.compile(LEADING_FORMULA).match
_inner = re.compile(INNER_FORMULA)
_inner_json = re.compile(INNER_JSON_FORMULA)
_risky = re.compile(rf"^(?:{LEADING_FORMULA})|{INNER_FORMULA}").search


def _sql_pattern(pattern: str) -> str:
    # PostgreSQL text never holds NUL, and its regular expressions refuse \x00.
    return "'" + pattern.replace(r"\x00", "") + "'"


# SQLTemplate strings (the column is {0}) printing what the two functions below return.
_INSERT_SQL = "'" + INSERT.replace("'", "''") + "'"
FORMULA_SQL = (
    f"CASE WHEN {{0}} ~ {_sql_pattern('^(?:' + LEADING_FORMULA + ')')} THEN '''' ELSE '' END"
    f" || regexp_replace({{0}}, {_sql_pattern(INNER_FORMULA)}, {_INSERT_SQL}, 'g')"
)
JSON_FORMULA_SQL = (
    f"regexp_replace(({{0}})::text, {_sql_pattern(INNER_JSON_FORMULA)}, {_INSERT_SQL}, 'g')"
)


def neutralise_formula(text: str) -> str:
    """Insert ``'`` at each cell start in ``text`` that a spreadsheet could run as a formula.

    A cell start is the start of the text or the character after a ``,``, ``;``, tab, CR or
    LF. It is neutralised when a formula sign (``= + - @``, their full-width forms, U+2212)
    follows, possibly after blanks and ``"``; a text starting with a tab, CR, LF or NUL is too.
    """
    if not _risky(text):
        return text
    lead = "'" if _leading(text) else ""
    return lead + _inner.sub(INSERT, text)


def neutralise_json_formula(text: str) -> str:
    """The same rule for a JSON cell, after separators only (within its strings).

    JSON text starts with ``{``, ``[``, ``"``, a literal, a digit or ``-`` (a number, left as
    it is like number columns), and its strings hold no raw tab or line break.
    """
    if _inner_json.search(text) is None:
        return text
    return _inner_json.sub(INSERT, text)
