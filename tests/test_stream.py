"""prepare_export() and Export: validation before any query, chunks, counters, boundaries."""

from __future__ import annotations

import pytest

from exports.errors import ExportError
from exports.stream import normalise_ordering, prepare_export
from exportsite.shop.models import Customer, Order
from tests.exporting import ENGINES, FORMATS, PYTHON_ENGINES, export_bytes
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

CHUNK = 10


def make_orders(count: int) -> None:
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(count, customer=customer))


def expected_csv(count: int) -> bytes:
    ids = Order.objects.order_by("pk").values_list("pk", flat=True)[:count]
    return b"id\n" + b"".join(b"%d\n" % pk for pk in ids)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "rows",
    [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK - 1, 3 * CHUNK, 3 * CHUNK + 1],
    ids=lambda n: f"{n}rows",
)
def test_row_counts_at_chunk_boundaries(engine, rows):
    make_orders(rows)
    export = prepare_export(
        queryset=Order.objects.all(), fields=["id"], engine=engine, chunk_size=CHUNK
    )

    chunks = list(export)

    assert b"".join(chunks) == expected_csv(rows)
    assert chunks[0] == b"id\n"  # the header once, in its own chunk
    assert [chunk.count(b"\n") for chunk in chunks[1:]] == [CHUNK] * (rows // CHUNK) + (
        [rows % CHUNK] if rows % CHUNK else []
    )
    assert (export.rows, export.bytes_sent, export.completed) == (rows, len(b"".join(chunks)), True)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_table(engine, fmt):
    data = export_bytes(fields=["id", "status"], format=fmt, engine=engine)

    assert data == {"csv": b"id,status\n", "tsv": b"id\tstatus\n", "jsonl": b""}[fmt]


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_table_without_header_is_empty(engine):
    assert export_bytes(fields=["id"], engine=engine, header=False) == b""


@pytest.mark.parametrize("engine", ENGINES)
def test_one_row_header_once(engine):
    OrderFactory(id=5, status="paid", total_cents=1234)

    data = export_bytes(fields=["id", "status", "total_cents"], engine=engine, chunk_size=1)

    assert data == b"id,status,total_cents\n5,paid,1234\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_header_once_with_bom_over_many_chunks(engine):
    make_orders(5)

    data = export_bytes(fields=["status"], engine=engine, chunk_size=2, bom=True)

    assert data == b"\xef\xbb\xbfstatus\n" + b"paid\n" * 5


def test_default_fields_are_the_concrete_fields_with_foreign_keys_as_ids():
    export = prepare_export(queryset=Order.objects.all())

    assert [c.path for c in export.columns] == [
        "id",
        "customer_id",
        "status",
        "total_cents",
        "currency",
        "discount",
        "is_gift",
        "created_at",
        "shipped_on",
        "note",
        "reference",
        "metadata",
    ]


def test_labels_replace_header_names():
    OrderFactory(id=1, status="paid")

    data = export_bytes(fields=["id", "status"], labels={"status": "State"})

    assert data == b"id,State\n1,paid\n"


def test_foreign_key_traversal():
    customer = CustomerFactory(email="a@example.com", country="FR")
    OrderFactory(id=3, customer=customer)

    data = export_bytes(fields=["id", "customer__email", "customer__country", "customer"])

    assert data == b"id,customer__email,customer__country,customer\n3,a@example.com,FR,%d\n" % (
        customer.pk
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_size": 0}, "The chunk size must be a positive integer, not 0."),
        ({"chunk_size": -3}, "The chunk size must be a positive integer, not -3."),
        ({"chunk_size": "10"}, "The chunk size must be a positive integer, not '10'."),
        ({"chunk_size": True}, "The chunk size must be a positive integer, not True."),
        ({"limit": -1}, "The limit must be zero or a positive integer, not -1."),
        ({"limit": 2.5}, "The limit must be zero or a positive integer, not 2.5."),
        ({"format": "xml"}, 'Unknown format "xml"; choose one of: csv, tsv, jsonl, xlsx.'),
        ({"engine": "turbo"}, 'Unknown engine "turbo"; choose one of: auto, cursor, keyset, copy.'),
        ({"fields": ["nope"]}, 'Unknown field "nope" on shop.Order (in field path "nope").'),
        ({"order_by": ["-nope"]}, 'Unknown field "nope" on shop.Order (in field path "nope").'),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else "",
)
def test_bad_requests_fail_before_any_query(options, message, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ExportError) as excinfo:
        prepare_export(queryset=Order.objects.all(), **options)

    assert excinfo.value.args == (message,)


def test_an_ordering_keyset_cannot_page_fails_before_any_query(django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ExportError) as excinfo:
        prepare_export(queryset=Order.objects.order_by("?"), engine="keyset")

    assert excinfo.value.args == (
        "The keyset engine cannot page on the ordering ?, pk (random order, an aggregate, or a "
        "relation sorted by its model's Meta.ordering); use --engine cursor.",
    )


def test_nothing_runs_until_iterated(django_assert_num_queries):
    with django_assert_num_queries(0):
        export = prepare_export(queryset=Order.objects.all(), engine="keyset")

    assert (export.rows, export.bytes_sent, export.completed) == (0, 0, False)
    assert export.content_type == "text/csv; charset=utf-8"
    assert export.extension == "csv"
    assert export.model is Order


@pytest.mark.parametrize("engine", PYTHON_ENGINES)
def test_closed_early_is_not_completed(engine):
    make_orders(10)
    export = prepare_export(
        queryset=Order.objects.all(), fields=["id"], engine=engine, chunk_size=3
    )
    chunks = iter(export)
    next(chunks)
    next(chunks)

    chunks.close()

    assert (export.rows, export.completed) == (3, False)


def test_count_respects_the_limit():
    make_orders(7)

    assert prepare_export(queryset=Order.objects.all()).count() == 7
    assert prepare_export(queryset=Order.objects.all(), limit=5).count() == 5
    assert prepare_export(queryset=Order.objects.all(), limit=50).count() == 7


def test_default_chunk_size_comes_from_settings(settings):
    settings.EXPORTS = {"CHUNK_SIZE": 123}

    assert prepare_export(queryset=Order.objects.all()).chunk_size == 123


def test_default_engine_comes_from_settings(settings):
    settings.EXPORTS = {"ENGINE": "cursor"}

    assert prepare_export(queryset=Order.objects.all()).engine == "cursor"


@pytest.mark.parametrize(
    ("queryset", "order_by", "expected"),
    [
        (lambda: Order.objects.all(), None, ["pk"]),
        (lambda: Order.objects.order_by(), None, ["pk"]),
        (lambda: Order.objects.order_by("-created_at"), None, ["-created_at", "pk"]),
        (lambda: Order.objects.all(), ["status", "-id"], ["status", "-id"]),
        (lambda: Order.objects.all(), ["-pk"], ["-pk"]),
        (lambda: Order.objects.order_by("pk", "-pk"), None, ["pk"]),
        (lambda: Order.objects.order_by("status", "-id", "pk"), None, ["status", "-id"]),
        (lambda: Customer.objects.all(), ["-customer_id"], None),
    ],
    ids=[
        "model-meta",
        "cleared",
        "queryset",
        "given-with-pk",
        "descending-pk",
        "admin-changelist",
        "after-the-pk",
        "bad",
    ],
)
def test_normalise_ordering(queryset, order_by, expected):
    if expected is None:
        with pytest.raises(ExportError) as excinfo:
            normalise_ordering(queryset(), order_by)
        assert excinfo.value.args == (
            'Unknown field "customer_id" on shop.Customer (in field path "customer_id").',
        )
    else:
        assert normalise_ordering(queryset(), order_by) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_output_is_ordered_by_primary_key_with_ties(engine):
    OrderFactory(id=3, status="paid")
    OrderFactory(id=1, status="paid")
    OrderFactory(id=2, status="cancelled")

    data = export_bytes(fields=["id", "status"], engine=engine, order_by=["status"])

    assert data == b"id,status\n2,cancelled\n1,paid\n3,paid\n"
