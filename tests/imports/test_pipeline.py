"""Pipeline properties: flat memory, one query per batch for foreign keys, resume, DEBUG."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import tracemalloc

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from exports.imports import ImportFileError, import_file
from exports.imports import checkpoint as checkpoints
from exports.imports import errors as E
from exports.imports.collector import GC_THRESHOLD, fewer_collections
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory

from .conftest import read_rejects

pytestmark = pytest.mark.django_db

HEADER = "email,name,country,created_at\n"


def write_customers(path, count: int, *, bad_every: int = 0) -> None:
    with open(path, "w") as handle:
        handle.write(HEADER)
        for i in range(count):
            country = "XXX" if bad_every and i % bad_every == bad_every - 1 else "DE"
            handle.write(f"u{i}@example.com,User {i},{country},2024-01-01T00:00:00.000000+00:00\n")


def peak_import(path, tmp_path) -> int:
    tracemalloc.start()
    try:
        result = import_file(
            model=Customer, source=path, errors_path=tmp_path / "r.csv", chunk_size=2000
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.complete
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_memory_is_flat(tmp_path, debug):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_customers(small, 20_000)
    write_customers(large, 200_000)
    with override_settings(DEBUG=debug):
        peak_small = peak_import(small, tmp_path)
        Customer.objects.all().delete()
        peak_large = peak_import(large, tmp_path)
    assert Customer.objects.count() == 200_000
    # Ten times the rows, the same batches: the peak may not grow by more than 2 MB.
    assert peak_large - peak_small < 2_000_000, (peak_small, peak_large)


def test_query_log_is_not_cleared_inside_capture(tmp_path):
    """Under CaptureQueriesContext (force_debug_cursor) every query stays countable."""
    path = tmp_path / "c.csv"
    write_customers(path, 10)
    with override_settings(DEBUG=True), CaptureQueriesContext(connection) as ctx:
        import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv", chunk_size=3)
    assert len(ctx.captured_queries) > 4


def test_foreign_keys_resolved_one_query_per_batch(tmp_path):
    customers = CustomerFactory.create_batch(5)
    path = tmp_path / "o.csv"
    with open(path, "w") as handle:
        handle.write("customer__email,status,total_cents,created_at,reference\n")
        for i in range(10):
            email = customers[i % 5].email
            handle.write(f"{email},paid,{i},2024-01-01T00:00:00+00:00,{i:032x}\n")
    with CaptureQueriesContext(connection) as ctx:
        result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv", chunk_size=4)
    assert result.complete and result.created == 10
    customer_queries = [q for q in ctx.captured_queries if "shop_customer" in q["sql"]]
    assert len(customer_queries) == 3  # batches of 4, 4 and 2
    assert [o.customer_id for o in Order.objects.order_by("total_cents")] == [
        customers[i % 5].pk for i in range(10)
    ]


AWKWARD_EMAILS = ['"a,b{c}\\d"@example.com', '"q\\"u,{x}"@example.com', "plain@exämple.com"]


def test_lookups_keep_awkward_values_apart(tmp_path):
    """Quotes, backslashes, commas and braces survive the per-batch key lookups."""
    customers = [CustomerFactory(email=email) for email in AWKWARD_EMAILS]
    CustomerFactory(email='"a,b{c}d"@example.com')  # one that differs only by the backslash
    path = tmp_path / "c.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(["email", "name", "country", "created_at"])
        for email in AWKWARD_EMAILS:
            writer.writerow([email, "X", "DE", "2024-01-01T00:00:00+00:00"])
    result = import_file(model=Customer, source=path, errors_path=tmp_path / "r.csv")
    assert (result.created, result.rejected) == (0, 3)
    assert [r["message"] for r in read_rejects(tmp_path / "r.csv")] == [
        E.ALREADY_EXISTS.format(model="shop.Customer", fields="email", value=f'"{email}"')
        for email in AWKWARD_EMAILS
    ]
    orders = tmp_path / "o.csv"
    with open(orders, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(["customer__email", "status", "total_cents", "created_at"])
        for i, email in enumerate(AWKWARD_EMAILS):
            writer.writerow([email, "paid", i, "2024-01-01T00:00:00+00:00"])
    result = import_file(model=Order, source=orders, errors_path=tmp_path / "r2.csv")
    assert result.complete and result.created == 3
    assert [o.customer_id for o in Order.objects.order_by("total_cents")] == [
        c.pk for c in customers
    ]


def test_unknown_foreign_key_by_lookup(tmp_path):
    CustomerFactory(email="known@example.com")
    path = tmp_path / "o.csv"
    path.write_text(
        "customer__email,status,total_cents,created_at\n"
        "nobody@example.com,paid,1,2024-01-01T00:00:00+00:00\n"
    )
    result = import_file(model=Order, source=path, errors_path=tmp_path / "r.csv")
    assert result.rejected == 1
    row = read_rejects(tmp_path / "r.csv")[0]
    assert (row["column"], row["message"]) == (
        "customer__email",
        E.UNKNOWN_RELATED.format(
            model="shop.Customer", field="email", value='"nobody@example.com"'
        ),
    )


def test_upsert_counts_created_and_updated(tmp_path):
    CustomerFactory(email="u0@example.com", name="Old")
    path = tmp_path / "c.csv"
    write_customers(path, 3)
    result = import_file(
        model=Customer, source=path, mode="upsert", key=["email"], errors_path=tmp_path / "r.csv"
    )
    assert (result.created, result.updated) == (2, 1)
    assert Customer.objects.get(email="u0@example.com").name == "User 0"


def test_update_needs_a_unique_key(tmp_path):
    path = tmp_path / "c.csv"
    write_customers(path, 1)
    with pytest.raises(ImportFileError) as info:
        import_file(model=Customer, source=path, mode="update", key=["name"])
    assert info.value.args == (E.KEY_NOT_UNIQUE.format(key="name", model="shop.Customer"),)
    with pytest.raises(ImportFileError) as info:
        import_file(model=Customer, source=path, mode="update")
    assert info.value.args == (E.KEY_NEEDED.format(mode="update", example="email"),)


def test_map_option(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("E-mail,Full name,Land,Since,Ignored\na@example.com,A,DE,2024-01-01,x\n")
    result = import_file(
        model=Customer,
        source=path,
        mapping={
            "E-mail": "email",
            "Full name": "name",
            "Land": "country",
            "Since": "created_at",
            "Ignored": "",
        },
    )
    assert result.complete
    assert Customer.objects.get().created_at == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class Crash(Exception):
    pass


def test_resume_after_a_crash_continues_without_duplicates(tmp_path, monkeypatch):
    path = tmp_path / "c.csv"
    errors = tmp_path / "rejects.csv"
    write_customers(path, 10, bad_every=4)  # rows 3 and 7 (0-based) are bad
    from exports.imports import loaders

    calls = {"n": 0}
    originals = {name: getattr(loaders.Loader, name) for name in ("write", "stream")}

    def crash_on_third_batch(name):
        def method(self, rows):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash
            return originals[name](self, rows)

        return method

    # Each batch is written by one of them: stream (PostgreSQL, create) or write.
    for name in originals:
        monkeypatch.setattr(loaders.Loader, name, crash_on_third_batch(name))
    with pytest.raises(Crash):
        import_file(model=Customer, source=path, on_error="skip", chunk_size=3, errors_path=errors)
    assert Customer.objects.count() == 5  # two batches of three, one row rejected
    saved = checkpoints.load(checkpoints.checkpoint_path(str(errors)))
    assert (saved.records, saved.line, saved.created, saved.rejected) == (6, 7, 5, 1)
    monkeypatch.undo()

    result = import_file(
        model=Customer,
        source=path,
        on_error="skip",
        chunk_size=3,
        errors_path=errors,
        resume=True,
    )
    assert (result.resumed_after, result.rows_read, result.created, result.rejected) == (6, 4, 3, 1)
    assert Customer.objects.count() == 8
    assert [r["line"] for r in read_rejects(errors)] == ["5", "9"]
    assert not (tmp_path / "rejects.csv.checkpoint").exists()  # the file was read to its end


def test_resume_refuses_another_file(tmp_path):
    path = tmp_path / "c.csv"
    errors = tmp_path / "rejects.csv"
    write_customers(path, 3)
    checkpoints.save(
        checkpoints.checkpoint_path(str(errors)),
        checkpoints.Checkpoint(
            size=1,
            sha256="0" * 64,
            model="shop.Customer",
            mode="create",
            records=1,
            line=2,
            created=1,
            updated=0,
            rejected=0,
        ),
    )
    with pytest.raises(ImportFileError) as info:
        import_file(model=Customer, source=path, on_error="skip", errors_path=errors, resume=True)
    assert str(info.value).startswith(
        f"The checkpoint {errors}.checkpoint belongs to another input (size 1 and hash"
    )


def test_resume_needs_skip_mode(tmp_path):
    with pytest.raises(ImportFileError) as info:
        import_file(model=Customer, source=tmp_path / "x.csv", resume=True)
    assert info.value.args == (E.RESUME_NEEDS_SKIP,)


def test_jsonl_typed_values(tmp_path):
    CustomerFactory(id=1)
    path = tmp_path / "o.jsonl"
    path.write_text(
        '{"customer_id": 1, "status": "paid", "total_cents": 5, "discount": "1.20",'
        ' "is_gift": true, "created_at": "2024-01-01T00:00:00+00:00", "metadata": {"a": [1]}}\n'
        '{"customer_id": 1, "status": "paid", "total_cents": "x", "discount": null,'
        ' "is_gift": 1, "created_at": "2024-01-01T00:00:00+00:00", "metadata": {}}\n'
        '{"customer_id": 1}\n'
        "not json\n"
    )
    result = import_file(
        model=Order, source=path, format="jsonl", errors_path=tmp_path / "r.csv", on_error="skip"
    )
    assert (result.created, result.rejected) == (1, 3)
    assert Order.objects.get().metadata == {"a": [1]}
    messages = [(r["line"], r["column"], r["message"]) for r in read_rejects(tmp_path / "r.csv")]
    assert messages[:2] == [
        ("2", "total_cents", '"x" is not an integer'),
        ("2", "is_gift", E.WRONG_JSON_TYPE.format(expected="true or false", found="int")),
    ]
    assert messages[2][0] == "3" and messages[2][2].startswith("keys differ from the first line's")
    assert messages[3][0] == "4" and messages[3][2].startswith("not valid JSON: ")


def test_fewer_gc_passes_while_imports_run_and_restored_after(tmp_path):
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with fewer_collections():
            assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
            with fewer_collections():  # a second import at the same time
                assert gc.get_threshold()[0] == GC_THRESHOLD
            assert gc.get_threshold()[0] == GC_THRESHOLD  # the first is still running
        assert gc.get_threshold() == (700, 10, 10)
        path = tmp_path / "c.csv"
        write_customers(path, 3)
        during = []
        result = import_file(
            model=Customer,
            source=path,
            errors_path=tmp_path / "r.csv",
            on_progress=lambda _bytes: during.append(gc.get_threshold()),
        )
        assert result.complete
        # import_file itself (the web process's admin imports) leaves the threshold alone.
        assert during and set(during) == {(700, 10, 10)}
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*saved)
