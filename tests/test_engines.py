"""The engines: same bytes from each, how each talks to the database, and how each lets go."""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest
from django.db import connection, models, transaction
from django.db.models import Count, F
from django.db.models.functions import Lower
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.pq import TransactionStatus

from exports import engines
from exports.columns import Column, resolve_columns
from exports.errors import ExportError
from exports.formats import get_writer_class
from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from tests.exporting import (
    DATA,
    ENGINES,
    FORMATS,
    ORDER_FIELDS,
    PYTHON_ENGINES,
    create_tricky_orders,
    export_bytes,
)
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def engine_format_pairs(formats=FORMATS):
    """(engine, format) parameters."""
    for engine in ENGINES:
        for fmt in formats:
            (name,) = engine.values
            yield pytest.param(name, fmt.values[0], marks=engine.marks, id=f"{name}-{fmt.id}")


@pytest.mark.parametrize(("engine", "fmt"), list(engine_format_pairs()))
@pytest.mark.parametrize("chunk_size", [1, 4, 5000], ids=lambda n: f"chunk{n}")
def test_every_engine_writes_the_reference_bytes(engine, fmt, chunk_size):
    """The files in tests/data were written by PostgreSQL's COPY; every engine on every
    backend must give exactly those bytes, whatever the chunk size."""
    create_tricky_orders()

    data = export_bytes(fields=ORDER_FIELDS, format=fmt, engine=engine, chunk_size=chunk_size)

    assert data == (DATA / f"tricky_orders.{fmt}").read_bytes()


@pytest.mark.parametrize(
    ("engine", "fmt"), list(engine_format_pairs([f for f in FORMATS if f.id != "tsv"]))
)
def test_every_engine_neutralises_formulas_alike(engine, fmt):
    create_tricky_orders()

    data = export_bytes(fields=ORDER_FIELDS, format=fmt, engine=engine, escape_formulas=True)

    assert data == (DATA / f"tricky_orders_escaped.{fmt}").read_bytes()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_honours_filter_order_and_limit(engine):
    create_tricky_orders()
    queryset = Order.objects.filter(customer_id=1)

    data = export_bytes(
        queryset, fields=["id", "total_cents"], engine=engine, order_by=["-total_cents"], limit=3
    )

    assert data == b"id,total_cents\n19,18000054\n17,16000048\n15,14000042\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_descending_primary_key(engine):
    create_tricky_orders()

    data = export_bytes(fields=["id"], engine=engine, order_by=["-id"], limit=4, chunk_size=3)

    assert data == b"id\n19\n18\n17\n16\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "queryset",
    [
        pytest.param(lambda: Order.objects.none(), id="none"),
        pytest.param(lambda: Order.objects.filter(pk__in=[]), id="empty-in"),
    ],
)
def test_a_queryset_that_cannot_match_gives_the_header_only(engine, queryset):
    create_tricky_orders()

    assert export_bytes(queryset(), fields=["id", "note"], engine=engine) == b"id,note\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_limit_zero(engine):
    create_tricky_orders()

    assert export_bytes(fields=["id"], engine=engine, limit=0) == b"id\n"


# Choosing the engine ------------------------------------------------------------------------


def choose(
    requested,
    *,
    fields=("id",),
    fmt="csv",
    ordering=("pk",),
    delimiter=None,
    annotations=None,
    client_paced=False,
):
    columns = resolve_columns(Order, list(fields))
    writer = get_writer_class(fmt)(columns, vendor=connection.vendor, delimiter=delimiter)
    return engines.choose_engine(
        requested,
        using="default",
        model=Order,
        columns=columns,
        writer=writer,
        ordering=list(ordering),
        annotations=annotations,
        client_paced=client_paced,
    )


def test_unknown_engine():
    with pytest.raises(ExportError) as excinfo:
        choose("fast")

    assert excinfo.value.args == (
        'Unknown engine "fast"; choose one of: auto, cursor, keyset, copy.',
    )


@pytest.mark.parametrize(
    "ordering",
    [("?",), ("status",), ("status", "?", "pk"), ("customer", "pk"), ("orders_seen", "pk")],
    ids=["random", "no-pk-last", "random-inside", "related-meta-ordering", "aggregate"],
)
def test_keyset_refuses_orderings_it_cannot_page_on(ordering, monkeypatch):
    # Customer's Meta.ordering is the pk, which keyset follows; a name ordering it cannot.
    monkeypatch.setattr(Customer._meta, "ordering", ["name"])
    annotations = Order.objects.annotate(orders_seen=Count("customer__orders")).query.annotations

    with pytest.raises(ExportError) as excinfo:
        choose("keyset", ordering=ordering, annotations=annotations)

    assert excinfo.value.args == (
        f"The keyset engine cannot page on the ordering {', '.join(ordering)} (random order, "
        "an aggregate, or a relation sorted by its model's Meta.ordering); use --engine cursor.",
    )


@pytest.mark.parametrize(
    "ordering",
    [
        ("status", "pk"),
        ("-total_cents", "-pk"),
        ("customer__email", "-created_at", "pk"),
        ("shipped_on", "pk"),
        ("customer__email", "-discount", "pk"),
        ("customer", "-pk"),
        (Lower("note").desc(), "pk"),
        (F("discount").asc(nulls_last=True), "pk"),
    ],
    ids=str,
)
def test_keyset_pages_on_orderings(ordering):
    assert choose("keyset", ordering=ordering) == "keyset"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 100])
@pytest.mark.parametrize(
    "order_by",
    [["status"], ["-status"], ["customer__email", "-total_cents"], ["currency", "-is_gift"]],
    ids=lambda o: ",".join(o),
)
def test_keyset_on_an_ordering_matches_the_cursor_engine(order_by, chunk_size):
    create_tricky_orders()
    fields = ["id", "status", "currency", "is_gift", "total_cents", "customer__email"]

    keyset = export_bytes(fields=fields, engine="keyset", order_by=order_by, chunk_size=chunk_size)
    cursor = export_bytes(fields=fields, engine="cursor", order_by=order_by)

    assert keyset == cursor
    assert len(keyset.splitlines()) == Order.objects.count() + 1


NULLABLE_ORDERINGS = [
    pytest.param(["shipped_on", "pk"], id="nullable-asc"),
    pytest.param(["-shipped_on", "-pk"], id="nullable-desc"),
    pytest.param(["-discount", "shipped_on", "pk"], id="two-nullables-mixed"),
    pytest.param([F("discount").asc(nulls_last=True), "-pk"], id="nulls-last"),
    pytest.param([F("shipped_on").desc(nulls_first=True), "pk"], id="nulls-first"),
    pytest.param([Lower("note").desc(), "is_gift", "pk"], id="expression"),
    pytest.param(["-created_at", "pk"], id="mixed-directions"),
    pytest.param(["customer", "-pk"], id="relation"),
]


@pytest.mark.parametrize("chunk_size", [1, 2, 7])
@pytest.mark.parametrize("ordering", NULLABLE_ORDERINGS)
def test_keyset_on_nullable_and_expression_orderings_matches_the_cursor_engine(
    ordering, chunk_size
):
    create_tricky_orders()
    # Ties on every nullable key, NULLs included, so each branch of the predicate is crossed.
    Order.objects.filter(pk__in=[3, 4, 5, 6]).update(discount=None, shipped_on=None)
    fields = ["id", "discount", "shipped_on", "is_gift"]
    queryset = Order.objects.order_by(*ordering)

    keyset = export_bytes(queryset, fields=fields, engine="keyset", chunk_size=chunk_size)
    cursor = export_bytes(queryset, fields=fields, engine="cursor")

    assert keyset == cursor
    assert len(keyset.splitlines()) == Order.objects.count() + 1


@pytest.mark.parametrize("ordering", [("pk",), ("-pk",), ("id",), ("-id",)])
def test_keyset_accepts_the_primary_key_either_way(ordering):
    assert choose("keyset", ordering=ordering) == "keyset"


class CustomField(models.Field):
    """A third-party field: no SQL is known to print it as Python does."""

    def get_internal_type(self):
        return "CustomField"


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        (CustomField(), "text"),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_copy_refuses_a_column_sql_cannot_print_canonically(field, kind):
    columns = (*resolve_columns(Order, ["id"]), Column(path="x", field=field, label="x"))
    writer = get_writer_class("csv")(columns, vendor="postgresql")

    assert engines.copy_unsupported_reason(columns, writer, "postgresql") == (
        f'The copy engine cannot print column "x" ({kind}) in its canonical form; '
        "use --engine cursor or keyset."
    )


@pytest.mark.sqlite
def test_copy_needs_postgresql():
    with pytest.raises(ExportError) as excinfo:
        choose("copy")

    assert excinfo.value.args == (
        f"The copy engine needs PostgreSQL; this database is {connection.vendor}.",
    )


@pytest.mark.sqlite
class TestChoiceOnSQLite:
    @pytest.mark.parametrize("client_paced", [False, True])
    @pytest.mark.parametrize(
        "ordering",
        [("pk",), ("-created_at", "pk"), ("shipped_on", "-pk"), (Lower("note"), "pk")],
        ids=str,
    )
    def test_auto_pages_with_keyset_wherever_it_can(self, ordering, client_paced):
        assert choose("auto", ordering=ordering, client_paced=client_paced) == "keyset"

    def test_auto_falls_back_to_the_cursor_for_a_file(self):
        assert choose("auto", ordering=("?",)) == "cursor"

    def test_auto_refuses_what_keyset_cannot_page_for_a_client(self):
        with pytest.raises(ExportError) as excinfo:
            choose("auto", ordering=("?",), client_paced=True)

        assert excinfo.value.args == (
            "This export cannot be ordered by ? on SQLite: only the keyset engine reads without "
            "holding a lock while the client downloads, and it cannot page on that ordering "
            "(random order, an aggregate, or a relation sorted by its model's Meta.ordering); "
            "order by fields or the primary key.",
        )

    def test_a_client_paced_export_refuses_the_cursor_engine(self):
        assert choose("cursor") == "cursor"
        with pytest.raises(ExportError) as excinfo:
            choose("cursor", client_paced=True)

        assert excinfo.value.args == (
            "The cursor engine keeps a read lock on SQLite for the whole transfer, which blocks "
            "every write while a client downloads slowly; downloads use the keyset engine "
            "(engine auto or keyset).",
        )


@pytest.mark.postgres
class TestChoiceOnPostgres:
    def test_auto_prefers_copy(self):
        assert choose("auto") == "copy"
        assert choose("auto", ordering=("status", "pk")) == "copy"

    @pytest.mark.usefixtures("with_server_side_cursors")
    def test_auto_prefers_copy_for_json_lines(self):
        assert choose("auto", fmt="jsonl") == "copy"

    @pytest.mark.usefixtures("with_server_side_cursors")
    def test_copy_refuses_a_delimiter_postgresql_cannot_use(self):
        with pytest.raises(ExportError) as excinfo:
            choose("copy", delimiter="§")

        assert excinfo.value.args == (
            "The copy engine needs a one-byte (ASCII) delimiter, not '§'; "
            "use --engine cursor or keyset.",
        )
        assert choose("auto", delimiter="§") == "cursor"

    def test_copy_with_a_custom_delimiter_matches_the_python_engines(self):
        create_tricky_orders()
        kwargs = {"fields": ORDER_FIELDS, "delimiter": ";"}

        assert export_bytes(engine="copy", **kwargs) == export_bytes(engine="cursor", **kwargs)


# How each engine talks to the database ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("with_server_side_cursors")  # through pgbouncer too: no WITH HOLD
def test_cursor_engine_streams_from_a_server_side_cursor_inside_a_transaction():
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(25, customer=customer))
    export = prepare_export(
        queryset=Order.objects.all(), fields=["id"], engine="cursor", chunk_size=10
    )
    chunks = iter(export)
    assert not connection.in_atomic_block

    next(chunks)  # the header
    next(chunks)  # the first batch: the cursor is open now
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable, statement FROM pg_cursors")
        cursors = cursor.fetchall()
    in_transaction = connection.in_atomic_block
    rest = list(chunks)

    assert len(cursors) == 1
    is_holdable, statement = cursors[0]
    assert is_holdable is False
    assert statement.startswith('DECLARE "_django_curs_')
    assert "WITH HOLD" not in statement
    assert in_transaction is True
    assert len(rest) == 2
    assert not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cursor_engine_closed_early_closes_its_cursor_and_transaction():
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(25, customer=customer))
    chunks = iter(
        prepare_export(queryset=Order.objects.all(), fields=["id"], engine="cursor", chunk_size=5)
    )
    next(chunks)
    next(chunks)

    chunks.close()

    assert not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)


@pytest.mark.parametrize(
    ("rows", "chunk_size"),
    [(0, 10), (1, 10), (9, 10), (10, 10), (11, 10), (30, 10), (31, 7)],
    ids=lambda value: str(value),
)
def test_keyset_runs_one_query_per_chunk_plus_one(rows, chunk_size, django_assert_num_queries):
    if rows:
        customer = CustomerFactory()
        Order.objects.bulk_create(OrderFactory.build_batch(rows, customer=customer))
    export = prepare_export(
        queryset=Order.objects.all(), fields=["id"], engine="keyset", chunk_size=chunk_size
    )

    with django_assert_num_queries(math.ceil(rows / chunk_size) + 1) as captured:
        data = b"".join(export)

    assert data.count(b"\n") == rows + 1
    assert all("OFFSET" not in query["sql"] for query in captured.captured_queries)


def test_keyset_with_a_limit_stops_without_an_extra_query(django_assert_num_queries):
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(30, customer=customer))
    export = prepare_export(
        queryset=Order.objects.all(), fields=["id"], engine="keyset", chunk_size=10, limit=20
    )

    with django_assert_num_queries(2):
        assert b"".join(export).count(b"\n") == 21


@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_python_engines_closed_early_leave_no_transaction_behind(engine):
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(30, customer=customer))
    depth = len(connection.savepoint_ids)
    chunks = iter(
        prepare_export(queryset=Order.objects.all(), fields=["id"], engine=engine, chunk_size=5)
    )
    next(chunks)
    next(chunks)

    chunks.close()

    assert len(connection.savepoint_ids) == depth
    assert Order.objects.count() == 30


@pytest.mark.postgres
class TestCopyClosedEarly:
    """Closing the stream mid-COPY cancels it; the connection must stay usable."""

    @staticmethod
    def start_copy(rows=3000):
        customer = CustomerFactory()
        Order.objects.bulk_create(OrderFactory.build_batch(rows, customer=customer))
        chunks = iter(
            prepare_export(
                queryset=Order.objects.all(), fields=["id", "note"], engine="copy", chunk_size=10
            )
        )
        next(chunks)  # header
        next(chunks)  # the COPY is under way
        return chunks

    @pytest.mark.django_db(transaction=True)
    def test_in_autocommit(self):
        chunks = self.start_copy()

        chunks.close()

        assert not connection.in_atomic_block
        assert Order.objects.count() == 3000
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE

    def test_inside_an_atomic_block(self):
        with transaction.atomic():
            chunks = self.start_copy()

            chunks.close()

            assert Order.objects.count() == 3000
        assert Order.objects.count() == 3000

    def test_twice_in_a_row(self):
        chunks = self.start_copy()
        chunks.close()
        again = iter(prepare_export(queryset=Order.objects.all(), fields=["id"], engine="copy"))

        assert b"".join(again).count(b"\n") == 3001


@pytest.mark.postgres
def test_copy_statement_inlines_filter_values_safely():
    """Filter values reach COPY as SQL literals, quotes and percent signs included."""
    create_tricky_orders()
    queryset = Order.objects.filter(note__in=["'; DROP TABLE shop_order; --", "50% off"])
    Order.objects.filter(pk=1).update(note="50% off")

    assert export_bytes(queryset, fields=["id", "note"], engine="copy") == b"id,note\n1,50% off\n"
    assert Order.objects.count() == 19


@pytest.fixture
def without_server_side_cursors(monkeypatch):
    """PostgreSQL behind pgbouncer in transaction mode."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)


@pytest.fixture
def with_server_side_cursors(monkeypatch):
    """Server-side cursors enabled, even in the run through pgbouncer (where they are not)."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", False)


@pytest.mark.postgres
@pytest.mark.usefixtures("without_server_side_cursors")
@pytest.mark.parametrize("ordering", [("pk",), ("status", "pk"), ("-created_at", "-pk")])
def test_auto_pages_with_keyset_when_server_side_cursors_are_disabled(ordering):
    assert choose("auto", delimiter="§", ordering=ordering) == "keyset"
    assert choose("auto", fmt="csv", ordering=ordering) == "copy"


@pytest.mark.postgres
@pytest.mark.usefixtures("without_server_side_cursors")
def test_auto_refuses_what_cannot_stream_without_server_side_cursors():
    assert choose("auto", delimiter="§", ordering=("shipped_on", "pk")) == "keyset"
    with pytest.raises(ExportError) as excinfo:
        choose("auto", delimiter="§", ordering=("?", "pk"))

    assert excinfo.value.args == (
        "Server-side cursors are disabled for database 'default' and the keyset engine cannot "
        "page on the ordering ?, pk (random order, an aggregate, or a relation sorted by its "
        "model's Meta.ordering), so no engine can stream this export; order by fields or the "
        "primary key.",
    )


# Every kind, every engine ---------------------------------------------------------------------

READING_FIELDS = [
    "id",
    "code",
    "quantity",
    "doubled",
    "amount",
    "score",
    "big",
    "flag",
    "day",
    "at",
    "clock",
    "took",
    "ref",
    "data",
    "blob",
    "label",
    "note",
    "parent",
    "ip",
]
EDGE_SCORES = [0.1, -0.0, 0.0, 1e16, 1e15, 1e23, 5e-324, 1e-5, 1e-4, 1.7976931348623157e308]
EDGE_TOOK = [
    dt.timedelta(0),
    dt.timedelta(microseconds=-1),
    dt.timedelta(days=-1, seconds=5),
    dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
    dt.timedelta(days=106751991, microseconds=999999),  # 64-bit microseconds on SQLite
]
EDGE_CLOCKS = [dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 0, 0, 1), dt.time(9, 30)]
EDGE_BLOBS = [b"", b"\x00\x01", bytes(range(256)), b"x" * 58]


def create_edge_readings() -> None:
    from exportsite.shapes.models import Reading

    scores = list(EDGE_SCORES)
    if connection.vendor == "postgresql":  # SQLite stores NaN as NULL
        scores += [math.nan, math.inf, -math.inf]
    rows = max(len(scores), len(EDGE_TOOK), len(EDGE_CLOCKS), len(EDGE_BLOBS))
    Reading.objects.create(code="nulls", quantity=0)
    for i in range(rows):
        Reading.objects.create(
            code=f"r{i}",
            quantity=-(2**30) + i,  # doubled by the database
            amount=Decimal("-123456.78") if i % 2 else Decimal("0.10"),
            score=scores[i % len(scores)],
            big=2**63 - 1 - i,
            flag=bool(i % 2),
            day=dt.date(1, 1, 1) + dt.timedelta(days=i * 1000),
            at=dt.datetime(2024, 2, 29, 23, 59, 59, 999999 - i, tzinfo=dt.UTC),
            clock=EDGE_CLOCKS[i % len(EDGE_CLOCKS)],
            took=EDGE_TOOK[i % len(EDGE_TOOK)],
            ref=uuid.UUID(int=i),
            data={"b": [1, 2.5, None], "a": "x,y", "é": True} if i % 2 else [],
            blob=EDGE_BLOBS[i % len(EDGE_BLOBS)],
            label="" if i % 2 else "a;b\nc",
            note='say "hi"',
            ip=["10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1", None][i % 4],
        )
    if connection.vendor == "postgresql":
        # Django's insert loses the sign of -0.0 (PostgreSQL keeps it): set it in SQL.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE shapes_reading SET score = '-0'::float8 WHERE code = 'r1'")


def export_readings(**options) -> bytes:
    from exportsite.shapes.models import Reading

    options.setdefault("fields", READING_FIELDS)
    return b"".join(prepare_export(queryset=Reading.objects.all(), **options))


def python_reference(**options) -> bytes:
    """The cursor engine with every value formatted in Python: what the database-printed
    cells (exports.formats.cells) and the copy engine must reproduce byte for byte."""
    with override_settings(EXPORTS={"SERVER_TEXT": False}):
        return export_readings(engine="cursor", **options)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "options",
    [
        {"format": "csv"},
        {"format": "tsv"},
        {"format": "csv", "delimiter": ";"},
        {"format": "jsonl"},
    ],
    ids=["csv", "tsv", "semicolon", "jsonl"],
)
def test_every_engine_writes_every_kind_alike(engine, options):
    create_edge_readings()

    data = export_readings(engine=engine, **options)

    assert data == python_reference(**options)
    rows = 1 + len(EDGE_SCORES) + 3 * (connection.vendor == "postgresql")
    assert data.count(b"nulls") == 1
    assert sum(data.count(f"r{i}".encode()) for i in range(rows - 1)) >= rows - 1


@pytest.mark.postgres
def test_copy_prints_the_edge_values_as_python_does():
    create_edge_readings()

    data = export_readings(engine="copy", format="tsv", fields=["score", "took", "clock", "blob"])
    lines = [line.split("\t") for line in data.decode().splitlines()]
    column = {name: [row[i] for row in lines[1:]] for i, name in enumerate(lines[0])}

    assert column["score"][1:] == [repr(x) for x in EDGE_SCORES] + ["nan", "inf", "-inf"]
    assert column["took"][1:6] == [
        "P0DT00H00M00S",
        "-P0DT00H00M00.000001S",
        "-P0DT23H59M55S",
        "P3DT04H05M06.000007S",
        "P106751991DT00H00M00.999999S",
    ]
    assert column["clock"][1:5] == ["00:00:00", "23:59:59.999999", "12:00:00.000001", "09:30:00"]
    assert column["blob"][1:5] == [
        '""',
        "AAE=",
        base64.b64encode(bytes(range(256))).decode(),
        "eHh4" * 19 + "eA==",
    ]
    assert column["score"][0] == column["took"][0] == column["blob"][0] == ""


@pytest.mark.postgres
def test_copy_restores_shortest_float_digits_a_session_turned_off():
    create_edge_readings()
    expected = export_readings(engine="cursor")
    with connection.cursor() as cursor:
        cursor.execute("SET extra_float_digits = 0")
        try:
            assert export_readings(engine="copy") == expected
        finally:
            cursor.execute("RESET extra_float_digits")


@pytest.mark.postgres
def test_auto_chooses_copy_for_every_built_in_kind():
    from exportsite.shapes.models import Reading

    columns = resolve_columns(Reading, READING_FIELDS)
    writer = get_writer_class("csv")(columns, vendor="postgresql")

    assert engines.copy_unsupported_reason(columns, writer, "postgresql") is None
    assert (
        engines.choose_engine(
            "auto", using="default", model=Reading, columns=columns, writer=writer, ordering=["pk"]
        )
        == "copy"
    )


@pytest.mark.usefixtures("with_server_side_cursors")  # auto's PostgreSQL choice is cursor then
def test_exportdata_v2_says_why_auto_did_not_choose_copy(tmp_path):
    import io

    from django.core.management import call_command

    create_tricky_orders()
    stderr = io.StringIO()
    args = ("shop.Order", "--fields", "id", "--delimiter", "§", "-o", str(tmp_path / "o.csv"))

    call_command("exportdata", *args, verbosity=2, stdout=io.StringIO(), stderr=stderr)

    if connection.vendor == "postgresql":
        expected = (
            "Engine auto chose cursor, not copy: The copy engine needs a one-byte (ASCII) "
            "delimiter, not '§'; use --engine cursor or keyset.\n"
        )
    else:
        expected = (
            "Engine auto chose keyset, not copy: "
            "The copy engine needs PostgreSQL; this database is sqlite.\n"
        )
    assert stderr.getvalue() == expected
    stderr = io.StringIO()
    call_command("exportdata", *args, verbosity=1, stdout=io.StringIO(), stderr=stderr)
    assert stderr.getvalue() == ""


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def readings(draw, index):
    from exportsite.shapes.models import Reading

    postgres = connection.vendor == "postgresql"
    max_took = dt.timedelta.max if postgres else dt.timedelta(microseconds=2**63 - 1)
    min_took = dt.timedelta.min if postgres else -max_took
    maybe = lambda strategy: st.none() | strategy  # noqa: E731
    return Reading(
        code=f"h{index}",
        quantity=draw(st.integers(-(2**30), 2**30 - 1)),
        amount=draw(maybe(st.decimals(-999999, 999999, places=2, allow_nan=False))),
        score=draw(maybe(st.floats(allow_nan=postgres, allow_subnormal=True))),
        big=draw(maybe(st.integers(-(2**63), 2**63 - 1))),
        flag=draw(maybe(st.booleans())),
        day=draw(maybe(st.dates())),
        at=draw(maybe(st.datetimes(timezones=st.just(dt.UTC)))),
        clock=draw(maybe(st.times())),
        took=draw(maybe(st.timedeltas(min_value=min_took, max_value=max_took))),
        data=draw(_JSON),
        blob=draw(maybe(st.binary(max_size=80))),
        label=draw(maybe(_TEXT)),
        note=draw(_TEXT),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(*(readings(i) for i in range(n)))))
def test_every_engine_writes_random_values_of_every_kind_alike(rows):
    from exportsite.shapes.models import Reading

    # A savepoint per example: nothing is left for the next one, whatever happens.
    with transaction.atomic():
        Reading.objects.bulk_create(rows)
        engines_here = ["cursor", "keyset"] + ["copy"] * (connection.vendor == "postgresql")
        for fmt in ("csv", "tsv", "jsonl"):
            outputs = {e: export_readings(engine=e, format=fmt) for e in engines_here}
            outputs["python"] = python_reference(format=fmt)
            assert len(set(outputs.values())) == 1, outputs
        transaction.set_rollback(True)


@pytest.mark.sqlite
@pytest.mark.parametrize("order_by", [["created_at"], ["-created_at"]], ids=["asc", "desc"])
def test_keyset_on_sqlite_pages_on_keys_as_stored(order_by):
    """SQL's Now() stores 3 fraction digits; Django reads them back as 6: a key sent back
    converted ('...44.528000') compares with the stored text ('...44.528') as another value,
    which skipped rows (ascending) or repeated a page for ever (descending)."""
    from django.db.models.functions import Now

    CustomerFactory.create_batch(5)
    Customer.objects.update(created_at=Now())

    def export(engine: str) -> bytes:
        queryset = Customer.objects.all()
        export = prepare_export(
            queryset=queryset,
            fields=["id", "created_at"],
            order_by=order_by,
            engine=engine,
            chunk_size=2,
            limit=50,  # the bug repeated rows for ever
        )
        return b"".join(export)

    data = export("keyset")

    assert data == export("cursor")
    assert data.count(b"\n") == 6
