"""Memory does not grow with the number of rows exported (tracemalloc peaks, not timings).

The table is seeded once for the module with 200,000 orders. Each engine exports the first
20,000 of them, then all 200,000; the peak of Python allocations during each export must stay
under the same ceiling, and the two peaks may differ by no more than a small fixed amount.
Anything that keeps rows, chunks or per-query state (``list(queryset)``, a growing buffer, a
query log) would add megabytes between the two sizes.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from django.db import connection

from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from exportsite.shop.seeding import seed
from tests.exporting import ENGINES

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SMALL, LARGE = 20_000, 200_000
CHUNK = 1_000
FIELDS = ["id", "customer__email", "created_at", "note"]
# The same bounds for both sizes: a ceiling for each peak, and the most the peaks may differ.
CEILING = 8 * 1024 * 1024
GROWTH = 512 * 1024


@pytest.fixture(scope="module")
def large_table(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed(orders=LARGE, customers=1_000)
        yield
        with connection.cursor() as cursor:
            for model in (Order, Customer):
                cursor.execute(f"DELETE FROM {model._meta.db_table}")


def export_peak(
    *, rows: int, engine: str, chunk_size: int, format: str = "csv", min_row_bytes: int = 50
) -> tuple[int, int]:
    """Peak traced bytes while streaming the first ``rows`` orders; and the rows written.

    ``min_row_bytes``: the least each row must add to the output (compressed formats less).
    """
    export = prepare_export(
        queryset=Order.objects.filter(pk__lte=rows),
        fields=FIELDS,
        engine=engine,
        chunk_size=chunk_size,
        format=format,
    )
    written = 0
    gc.collect()
    tracemalloc.start()
    try:
        for chunk in export:
            written += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > rows * min_row_bytes
    return peak, export.rows


def assert_flat(engine: str, chunk_size: int = CHUNK) -> None:
    export_peak(rows=2 * chunk_size, engine=engine, chunk_size=chunk_size)  # warm caches

    small, small_rows = export_peak(rows=SMALL, engine=engine, chunk_size=chunk_size)
    large, large_rows = export_peak(rows=LARGE, engine=engine, chunk_size=chunk_size)

    assert (small_rows, large_rows) == (SMALL, LARGE)
    assert small < CEILING, f"{small:,} bytes"
    assert large < CEILING, f"{large:,} bytes"
    assert large - small < GROWTH, f"{small:,} -> {large:,} bytes"


@pytest.mark.parametrize("engine", ENGINES)
def test_memory_is_flat(large_table, engine):
    assert_flat(engine)


def test_memory_is_flat_for_keyset_with_debug_on(large_table, settings):
    """With DEBUG=True Django logs the SQL of every query; the keyset engine runs one per
    chunk (here 1,800 more for the larger export), so that log must not make memory grow
    with the table."""
    settings.DEBUG = True
    assert connection.queries_logged

    assert_flat("keyset", chunk_size=100)
