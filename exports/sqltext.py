"""The SQL that prints each kind's canonical text (:mod:`exports.kinds`), per database.

Templates name the column as ``{0}`` and may name it several times. PostgreSQL can print every
built-in kind; SQLite the kinds whose stored form its string functions can turn into the
canonical text (see :data:`SQLITE`). A SQLite template marked *guarded* yields NULL for a
stored value that is not in the form Django writes (a date typed by another program, say): the
Python engines then select the value itself too and format that row's cell in Python, so odd
stored values are printed exactly as the Python formatter prints them, never guessed.
"""

from __future__ import annotations

# PostgreSQL.


# Floats. float8 text (extra_float_digits > 0) has shortest round-trip digits, as repr does,
# except that PostgreSQL's Ryu never picks a candidate on the rounding interval's boundary where
# Python's does: 1e23 prints 9.999999999999999e+22, 8.41e21 8.409999999999999e+21. Python's
# digits then are shorter, and (no shorter decimal lying inside the interval) are the text's
# digits less the last one, or that plus one unit: a cheap check on every text of 16 or more
# digits (bigint and float8 casts; regular expressions and to_char cost seconds per million
# rows). Only when one round-trips is the value rounded to 15, then 16 digits (each a unique
# candidate when it round-trips). A power of two, whose interval is asymmetric, prints the same
# digits in both (checked for every one, either sign). Then repr's notation: fixed
# point with ".0" for an integral value from 1e-4 up to 1e16 (PostgreSQL switches at 1e15),
# else d.ddde+XX, and nan/inf/-inf.
def _pg_float_sql() -> str:
    value = "_v"
    text = "_t"
    mantissa = "_m"
    exponent = "_e"

    def rounded(digits: int) -> str:
        return f"ltrim(to_char({value}, '9.{'9' * (digits - 1)}EEEE'))"

    def round_trips(candidate: str) -> str:
        # Nested CASE, evaluated in order: a candidate beyond the largest double (rounding
        # 1.7976931348623157e308 up) is no float8 at all.
        return (
            f"CASE WHEN abs(({candidate})::numeric) < 1.797693134862316e308"
            f" THEN ({candidate})::float8 = {value} ELSE false END"
        )

    def shortest(candidate: str) -> str:
        return f"regexp_replace({candidate}, '\\.?0+e', 'e')"

    def notation(number: str) -> str:
        fixed = f"regexp_replace(trim_scale(({number})::numeric)::text, '^(-?[0-9]+)$', '\\1.0')"
        return (
            f"CASE WHEN {number} ~ 'e(\\+0[0-9]|\\+1[0-5]|-0[1-4])$' THEN {fixed} ELSE {number} END"
        )

    # The text less its last digit, and that plus one unit (from its digits as an integer).
    exponent_or_empty = f"CASE WHEN {exponent} = '' THEN '' ELSE 'e' || {exponent} END"
    truncated = f"left({mantissa}, -1) || {exponent_or_empty}"
    places = f"mod(length({mantissa}) - strpos({mantissa}, '.'), length({mantissa}))"
    power = f"coalesce(nullif({exponent}, '')::int, 0) - {places} + 1"
    up = (
        f"(replace({mantissa}, '.', '')::bigint / 10 + sign({value})::int)::text"
        f" || 'e' || ({power})"
    )
    maybe_shorter = (
        f"CASE WHEN length({mantissa}) < 17 THEN false"
        f" WHEN abs({value}) >= 1e308 THEN true"
        f" ELSE ({truncated})::float8 = {value} OR ({up})::float8 = {value} END"
    )
    return (
        f"(SELECT CASE {text} WHEN 'NaN' THEN 'nan' WHEN 'Infinity' THEN 'inf'"
        f" WHEN '-Infinity' THEN '-inf' ELSE CASE"
        f" WHEN {maybe_shorter} THEN CASE"
        f" WHEN {round_trips(rounded(15))} THEN {notation(shortest(rounded(15)))}"
        f" WHEN {round_trips(rounded(16))} THEN {notation(shortest(rounded(16)))}"
        f" ELSE {notation(text)} END"
        f" WHEN {exponent} = '' THEN CASE WHEN strpos({text}, '.') = 0 THEN {text} || '.0'"
        f" ELSE {text} END"
        f" WHEN {exponent}::int BETWEEN -4 AND 15 THEN {notation(text)}"
        f" ELSE {text} END END"
        # OFFSET 0 keeps each subquery whole, so the text is printed and split once per row.
        " FROM (SELECT _v, _t, split_part(_t, 'e', 1) AS _m, split_part(_t, 'e', 2) AS _e"
        " FROM (SELECT _v, _v::text AS _t FROM (SELECT ({0})::float8 AS _v) AS _value OFFSET 0)"
        " AS _text OFFSET 0) AS _parts)"
    )


# Fast paths first, decided on the value with float arithmetic, which costs far less than
# printing it (PostgreSQL evaluates each mention of the text anew): an integral value below
# 1e15 is its bigint's digits and ".0" (zero through its text, which keeps the sign of -0.0);
# another value from 1e-4 up to 1e15 whose text has at most 15 characters is printed in fixed
# point with shortest digits by both, so the text is repr's. The rest take the full SQL above.
_V = "({0})::float8"
PG_FLOAT = (
    f"CASE WHEN {_V} IS NULL THEN NULL"
    f" WHEN {_V} = trunc({_V}) AND abs({_V}) < 1e15 THEN CASE WHEN {_V} = 0"
    f" THEN ({_V})::text || '.0' ELSE (({_V})::bigint)::text || '.0' END"
    f" WHEN abs({_V}) >= 1e-4 AND abs({_V}) < 1e15 AND length(({_V})::text) < 16"
    f" THEN ({_V})::text ELSE {_pg_float_sql()} END"
)
PG_TIME = (
    "CASE WHEN strpos(({0})::text, '.') = 0 THEN ({0})::text ELSE rpad(({0})::text, 15, '0') END"
)
# From the interval's exact microseconds (numeric: timedelta's range exceeds bigint's).
PG_DURATION = (
    "(SELECT CASE WHEN n < 0 THEN '-' ELSE '' END || 'P' || div(a, 86400000000)::text || 'DT'"
    " || lpad(mod(div(a, 3600000000), 24)::text, 2, '0') || 'H'"
    " || lpad(mod(div(a, 60000000), 60)::text, 2, '0') || 'M'"
    " || lpad(mod(div(a, 1000000), 60)::text, 2, '0')"
    " || CASE WHEN mod(a, 1000000) = 0 THEN ''"
    " ELSE '.' || lpad(mod(a, 1000000)::text, 6, '0') END || 'S'"
    " FROM (SELECT n, abs(n) AS a FROM"
    " (SELECT trunc(extract(epoch FROM {0}) * 1000000) AS n) AS _micro) AS _parts)"
)
PG_DATETIME_UTC = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
PG_DATETIME_NAIVE = "to_char({0}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
BOOLEAN = "CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END"
PG_INTEGER = PG_DECIMAL = PG_UUID = PG_JSON = "({0})::text"
PG_DATE = "to_char({0}, 'YYYY-MM-DD')"
PG_BINARY = "translate(encode({0}, 'base64'), chr(10), '')"

# SQLite. Django stores dates, times and datetimes as ISO text ("2024-01-31 13:45:00.250000",
# no fraction when it is zero; datetimes in the connection's time zone, UTC by default), UUIDs
# as 32 lower-case hex digits, durations as integer microseconds and booleans as 0/1. Each
# guarded template checks that shape with GLOB (C code, far cheaper than a REGEXP, which Django
# implements in Python) and yields NULL for anything else.
_D = "[0-9]"
_DATE_GLOB = f"{_D * 4}-[0-1]{_D}-[0-3]{_D}"
_TIME_GLOB = f"[0-2]{_D}:[0-5]{_D}:[0-5]{_D}"
_FRACTION_GLOB = "." + _D * 6
SQLITE_INTEGER = "CAST({0} AS TEXT)"
SQLITE_TEXT = "{0}"
# Each check is true for a value the template can print (never for NULL).
SQLITE_DATE_CHECK = f"{{0}} GLOB '{_DATE_GLOB}'"
SQLITE_TIME_CHECK = (
    f"({{0}} GLOB '{_TIME_GLOB}' OR ({{0}} GLOB '{_TIME_GLOB}{_FRACTION_GLOB}'"
    " AND {0} NOT GLOB '*.000000'))"
)
_WHOLE = f"{_DATE_GLOB} {_TIME_GLOB}"
SQLITE_DATETIME_CHECK = f"({{0}} GLOB '{_WHOLE}{_FRACTION_GLOB}' OR {{0}} GLOB '{_WHOLE}')"
SQLITE_UUID_CHECK = "(length({0}) = 32 AND NOT {0} GLOB '*[^0-9a-f]*')"
# abs() of the smallest 64-bit integer overflows: that one value is left to Python.
SQLITE_DURATION_CHECK = "(typeof({0}) = 'integer' AND {0} > -9223372036854775808)"
SQLITE_DATE = f"CASE WHEN {SQLITE_DATE_CHECK} THEN {{0}} END"
SQLITE_TIME = f"CASE WHEN {SQLITE_TIME_CHECK} THEN {{0}} END"


def sqlite_datetime(suffix: str) -> str:
    """Django's stored datetime text with a "T", six fraction digits and ``suffix``."""
    return (
        f"CASE WHEN {SQLITE_DATETIME_CHECK} THEN replace({{0}}, ' ', 'T')"
        f" || CASE WHEN length({{0}}) = 19 THEN '.000000' ELSE '' END || '{suffix}' END"
    )


SQLITE_UUID = (
    f"CASE WHEN {SQLITE_UUID_CHECK} THEN substr({{0}}, 1, 8) || '-'"
    " || substr({0}, 9, 4) || '-' || substr({0}, 13, 4) || '-' || substr({0}, 17, 4) || '-'"
    " || substr({0}, 21) END"
)
# Integer microseconds, as Django's duration_iso_string prints them (the sign in front, the
# parts of the absolute value; SQLite's integer division truncates, on a positive number).
# "%%" is "%" once the driver's parameter syntax is undone (Django does, and so does its
# DEBUG log, which formats the SQL with its parameters).
SQLITE_DURATION = (
    f"CASE WHEN {SQLITE_DURATION_CHECK} THEN CASE WHEN {{0}} < 0 THEN '-' ELSE '' END || 'P'"
    " || (abs({0}) / 86400000000) || 'DT'"
    " || printf('%%02d', abs({0}) / 3600000000 %% 24) || 'H'"
    " || printf('%%02d', abs({0}) / 60000000 %% 60) || 'M'"
    " || printf('%%02d', abs({0}) / 1000000 %% 60)"
    " || CASE WHEN abs({0}) %% 1000000 = 0 THEN '' ELSE printf('.%%06d', abs({0}) %% 1000000) END"
    " || 'S' END"
)
