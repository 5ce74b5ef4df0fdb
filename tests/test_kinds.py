"""The table of kinds: filters and the importer parse alike, and each kind's SQL prints exactly
what its Python formatter prints (PostgreSQL for every kind, SQLite where it has SQL)."""

from __future__ import annotations

import datetime as dt
import math
import struct

import pytest
from django.db import connection, models
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exports.filters import filter_value
from exports.imports.binder import text_parser
from exports.kinds import KINDS, Kind, ParseError, postgresql_sql, text_formatter
from exports.parsing import parse_value

FIELDS = {
    Kind.INTEGER: models.IntegerField(),
    Kind.DECIMAL: models.DecimalField(max_digits=12, decimal_places=3),
    Kind.FLOAT: models.FloatField(),
    Kind.BOOLEAN: models.BooleanField(),
    Kind.DATE: models.DateField(),
    Kind.DATETIME: models.DateTimeField(),
    Kind.TIME: models.TimeField(),
    Kind.DURATION: models.DurationField(),
    Kind.UUID: models.UUIDField(),
}

TEXTS = [
    (Kind.INTEGER, " 12 "),
    (Kind.INTEGER, "1.5"),
    (Kind.DECIMAL, "12.30"),
    (Kind.DECIMAL, "NaN"),
    (Kind.DECIMAL, "1,5"),
    (Kind.FLOAT, "0.1"),
    (Kind.FLOAT, "1e+16"),
    (Kind.FLOAT, "nan"),
    (Kind.FLOAT, "-inf"),
    (Kind.FLOAT, "1e400"),
    (Kind.FLOAT, "x"),
    (Kind.BOOLEAN, "yes"),
    (Kind.BOOLEAN, "maybe"),
    (Kind.DATE, "2024-01-31"),
    (Kind.DATE, "31/01/2024"),
    (Kind.DATETIME, "2024-01-31T13:45:00.000000+00:00"),
    (Kind.DATETIME, "yesterday"),
    (Kind.TIME, "13:45:00.250000"),
    (Kind.TIME, "12:00+02:00"),
    (Kind.TIME, "25:00"),
    (Kind.DURATION, "-P1DT02H03M04.000005S"),
    (Kind.DURATION, "soon"),
    (Kind.UUID, "0B0CBE5A-4F9D-4C1A-9B61-2B0F4C8E0D11"),
    (Kind.UUID, "xyz"),
]


def outcome(parse, text):
    try:
        return ("value", parse(text))
    except ParseError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize(("kind", "text"), TEXTS, ids=lambda v: str(v))
def test_filters_and_the_importer_accept_and_refuse_alike(kind, text):
    field = FIELDS[kind]

    from_filter = outcome(lambda t: filter_value(field, "exact", t, connection=connection), text)
    from_importer = outcome(text_parser(field), text)

    assert from_filter == from_importer
    assert outcome(lambda t: parse_value(field, t), text) == from_importer


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (Kind.FLOAT, "nan", '"nan" is not a finite number'),
        (Kind.DECIMAL, "NaN", '"NaN" is not a finite number'),
        (Kind.TIME, "12:00+02:00", '"12:00+02:00" has a UTC offset; times are stored without one'),
        (Kind.FLOAT, "x", '"x" is not a number'),
    ],
)
def test_the_shared_messages(kind, text, message):
    assert outcome(text_parser(FIELDS[kind]), text) == ("error", message)


def test_every_kind_has_a_spec_and_postgresql_sql():
    assert set(KINDS) == set(Kind)
    for kind in Kind:
        assert postgresql_sql(kind), kind


# PostgreSQL: each kind's SQL against its Python formatter ------------------------------------


def server_text(kind: Kind, values, cast: str) -> list[str | None]:
    """Print ``values`` (as ``cast``) with ``kind``'s PostgreSQL SQL, in order."""
    sql = postgresql_sql(kind).format("t.v")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql} FROM unnest(%s::{cast}[]) WITH ORDINALITY AS t(v, n) ORDER BY t.n",
            [list(values)],
        )
        return [row[0] for row in cursor.fetchall()]


def python_text(kind: Kind, values) -> list[str]:
    to_text = text_formatter(kind, vendor="postgresql")
    return [None if v is None else to_text(v) for v in values]


EDGE_FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1e15,
    1e16,
    -1e16,
    9999999999999998.0,
    1234567890123456.7,
    2.5e15,
    1e-4,
    1e-5,
    0.00012345,
    9.999999999999999e-05,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    2.225073858507201e-308,
    1.7976931348623157e308,
    1e22,
    1e23,
    # PostgreSQL prints one more digit than repr: 16 (8.409999999999999e+21) or 17 digits,
    # one unit below (8.899637479436559e+17) or above (6.6596417181608256e+16), either sign.
    8.41e21,
    8.89963747943656e17,
    6.659641718160826e16,
    -7.55670324080032e18,
    -6.404749472504662e16,
    1e308,  # from 1e308 up, rounded to 15 and 16 digits (no shorter candidate built)
    1.7976931348623155e308,
    123456789012345678.0,
    # Around the fast paths' bounds (integral below 1e15; fixed point from 1e-4, 15 characters)
    999999999999999.0,
    -999999999999999.0,
    999999999999999.9,
    99999999999999.95,
    12345678901234.5,
    -1234567890123.45,
    0.0001,
    -0.0001,
    0.00010000000000000002,
    0.00099999,
    2.0,
    -3.0,
    0.5,
    None,
    math.inf,
    -math.inf,
    math.nan,
]

any_double = st.integers(0, 2**64 - 1).map(
    lambda n: struct.unpack("<d", n.to_bytes(8, "little"))[0]
)


@pytest.mark.postgres
@pytest.mark.django_db
def test_float_sql_prints_the_edge_values_as_repr():
    assert server_text(Kind.FLOAT, EDGE_FLOATS, "float8") == python_text(Kind.FLOAT, EDGE_FLOATS)


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            any_double,  # every bit pattern: subnormals, NaN, infinities, -0.0
            st.floats(min_value=1e14, max_value=1e17),  # around the 1e16 threshold
            st.floats(min_value=1e-6, max_value=1e-3),  # around the 1e-4 / 1e-5 threshold
            st.integers(-(2**60), 2**60).map(float),  # integral values
            st.floats(min_value=-1e15, max_value=1e15).map(lambda x: round(x, 2)),  # "nice"
            st.floats(allow_subnormal=True, max_value=1e-307, min_value=-1e-307),
        ),
        min_size=1,
        max_size=200,
    )
)
@example(EDGE_FLOATS)
def test_float_sql_prints_any_double_as_repr(values):
    # NaN payloads and signs all print "nan" in both.
    assert server_text(Kind.FLOAT, values, "float8") == python_text(Kind.FLOAT, values)


EDGE_TIMES = [
    dt.time(0, 0),
    dt.time(23, 59, 59, 999999),
    dt.time(12, 0, 0, 1),
    dt.time(12, 0, 0, 100000),
    dt.time(12, 0, 0, 250000),
    dt.time(13, 45),
]


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(st.lists(st.times(), min_size=1, max_size=200))
@example(EDGE_TIMES)
def test_time_sql_prints_isoformat(values):
    assert server_text(Kind.TIME, values, "time") == python_text(Kind.TIME, values)


EDGE_DURATIONS = [
    dt.timedelta(0),
    dt.timedelta(microseconds=1),
    dt.timedelta(microseconds=-1),
    dt.timedelta(seconds=-1),
    dt.timedelta(days=-1),
    dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5),
    -dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5),
    dt.timedelta(microseconds=999999),
    dt.timedelta(seconds=59, microseconds=1000000 - 1),
    dt.timedelta.max,
    dt.timedelta.min + dt.timedelta(microseconds=1),
    dt.timedelta(days=106751991),
]


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(st.lists(st.timedeltas(), min_size=1, max_size=200))
@example(EDGE_DURATIONS)
def test_duration_sql_prints_the_iso_8601_string(values):
    assert server_text(Kind.DURATION, values, "interval") == python_text(Kind.DURATION, values)


EDGE_BINARIES = [b"", b"\x00", b"\xff\xfe", bytes(range(256)) * 3, b"a" * 57, b"a" * 58]


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=50))
@example(EDGE_BINARIES)
def test_binary_sql_prints_base64_without_line_breaks(values):
    assert server_text(Kind.BINARY, values, "bytea") == python_text(Kind.BINARY, values)


@pytest.mark.postgres
@pytest.mark.django_db
def test_float_sql_needs_shortest_digits_which_the_copy_engine_sets():
    """With ``extra_float_digits = 0`` PostgreSQL rounds to 15 digits; the copy engine sets it
    back for its transaction (see ``test_engines``), the bare SQL cannot."""
    with connection.cursor() as cursor:
        cursor.execute("SET extra_float_digits = 0")
        try:
            assert server_text(Kind.FLOAT, [0.1 + 0.2], "float8") == ["0.3"]
        finally:
            cursor.execute("RESET extra_float_digits")


# SQLite: the kinds that have SQL there -------------------------------------------------------


@pytest.mark.sqlite
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "stored", "value"),
    [
        (Kind.INTEGER, -12, -12),
        (Kind.INTEGER, 2**63 - 1, 2**63 - 1),
        (Kind.BOOLEAN, 1, True),
        (Kind.BOOLEAN, 0, False),
        (Kind.TEXT, 'a,"b"\n', 'a,"b"\n'),
        (Kind.DATE, "2024-01-31", dt.date(2024, 1, 31)),
    ],
)
def test_sqlite_sql_prints_what_python_prints(kind, stored, value):
    sql = KINDS[kind].sqlite.format("%s")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", [stored] * sql.count("%s"))
        (printed,) = cursor.fetchone()

    assert printed == text_formatter(kind, vendor="sqlite")(value)
