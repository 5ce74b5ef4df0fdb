"""Every input shape in the issue, with its outcome; after a failure the table is as before."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import pytest
from django.test import override_settings

from exports.imports import ImportFileError
from exports.imports import errors as E
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory

from .conftest import read_rejects, snapshot

pytestmark = pytest.mark.django_db

HEADER_ONLY = "email,name,country,created_at\n"


@pytest.fixture
def existing():
    """A table that is not empty, so "exactly as before" means something."""
    CustomerFactory.create_batch(3)
    return snapshot(Customer)


def test_empty_file_is_an_error(run_import, data_file, existing):
    with pytest.raises(ImportFileError) as info:
        run_import(data_file("empty.csv"))
    assert info.value.args == (E.EMPTY_FILE,)
    assert snapshot(Customer) == existing


def test_header_only_imports_nothing_and_succeeds(run_import, data_file, existing):
    result = run_import(data_file("header_only.csv"))
    assert (result.rows_read, result.created, result.rejected, result.complete) == (0, 0, 0, True)
    assert snapshot(Customer) == existing


def test_utf8_bom_is_accepted(run_import, data_file):
    result = run_import(data_file("bom.csv"))
    assert result.complete and result.created == 1
    assert Customer.objects.get().email == "ann@example.com"


@pytest.mark.parametrize("name", ["latin1.csv", "cp1252.csv"])
def test_legacy_encoding_without_option_names_the_line(run_import, data_file, existing, name):
    result = run_import(data_file(name))
    # Line 3, the "ë" or "€": line 2 was fine, and is not written either.
    assert result.stopped.startswith("line 3 (byte offset ")
    assert "is not valid utf-8 text" in result.stopped
    assert not result.committed
    assert snapshot(Customer) == existing


def test_decode_error_message_is_exact(run_import, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER_ONLY.encode() + b"a@example.com,Caf\xe9,FR,2024-01-01\n")
    result = run_import(path)
    assert result.stopped == E.DECODE_ERROR.format(line=2, offset=47, byte=0xE9, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "encoding", "text"),
    [
        ("latin1.csv", "latin-1", "Zoë Müller"),
        ("cp1252.csv", "cp1252", "Euro € “quoted”"),
        ("utf16.csv", "utf-16", "日本語"),
    ],
)
def test_legacy_encoding_with_option_works(run_import, data_file, name, encoding, text):
    result = run_import(data_file(name), encoding=encoding)
    assert result.complete and result.created == 2
    assert Customer.objects.filter(name=text).exists()


def test_utf16_without_option_is_a_clear_error(run_import, data_file, existing):
    with pytest.raises(ImportFileError) as info:
        run_import(data_file("utf16.csv"))
    assert info.value.args == (E.UTF16_WITHOUT_OPTION.format(bom="UTF-16", encoding="utf-8"),)
    assert snapshot(Customer) == existing


def test_semicolon_delimiter(run_import, data_file):
    result = run_import(data_file("semicolon.csv"), delimiter=";")
    assert result.complete and result.created == 2
    assert Customer.objects.get(country="NL").name == 'Quote; "semi"'


@pytest.mark.parametrize("name", ["crlf.csv", "cr.csv", "customers.csv"])
def test_line_endings(run_import, data_file, name):
    result = run_import(data_file(name))
    assert result.complete and result.created == 2
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["Ann", "Bob"]


def test_quoted_line_breaks_kept_and_empty_string_is_not_null(run_import, data_file, tmp_path):
    result = run_import(data_file("quoted_newlines.csv"), on_error="skip")
    assert (result.created, result.rejected) == (1, 1)
    assert Customer.objects.get(email="nl@example.com").name == 'Line one\r\nLine "two"\nthree'
    # "" is the empty string (name may not be blank), not NULL (it may not be NULL either).
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["line"], row["column"], row["message"]) == ("5", "name", E.NOT_BLANK)


def test_unterminated_quote_names_the_line(run_import, data_file, existing):
    result = run_import(data_file("unterminated.csv"))
    assert result.stopped == E.UNTERMINATED_QUOTE.format(line=3)
    assert not result.committed
    assert snapshot(Customer) == existing


def test_too_many_or_too_few_fields_are_row_errors(run_import, data_file, existing, tmp_path):
    result = run_import(data_file("field_count.csv"))
    assert (result.rows_read, result.rejected, result.committed) == (3, 2, False)
    rejects = read_rejects(tmp_path / "rejects.csv")
    assert [(r["line"], r["column"], r["message"]) for r in rejects] == [
        ("3", "", E.FIELD_COUNT.format(expected=4, found=2)),
        ("4", "", E.FIELD_COUNT.format(expected=4, found=5)),
    ]
    assert rejects[0]["row"] == "short@example.com,Short"
    assert snapshot(Customer) == existing


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("missing_column.csv", E.MISSING_COLUMNS.format(names="country")),
        ("duplicate_column.csv", E.DUPLICATE_COLUMNS.format(names="name")),
        ("unknown_column.csv", E.UNKNOWN_COLUMNS.format(names="shoe_size")),
    ],
)
def test_bad_header_rejects_the_file(run_import, data_file, existing, name, problem):
    with pytest.raises(ImportFileError) as info:
        run_import(data_file(name))
    assert info.value.args == (E.HEADER_MISMATCH.format(model="shop.Customer", problems=problem),)
    assert snapshot(Customer) == existing


def test_header_problems_are_listed_together(run_import, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("email,email,shoe,hat\n")
    with pytest.raises(ImportFileError) as info:
        run_import(path)
    assert str(info.value) == (
        "The header does not fit shop.Customer: unknown columns: shoe, hat; "
        "duplicate columns: email; missing required columns: name, country, created_at."
    )


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("binary.csv", "a PNG image"),
        ("xlsx.csv", "a ZIP archive (an Excel .xlsx or OpenDocument file?)"),
    ],
)
def test_binary_file_renamed_csv(run_import, data_file, existing, name, what):
    with pytest.raises(ImportFileError) as info:
        run_import(data_file(name))
    assert info.value.args == (E.BINARY_FILE.format(what=what, format="csv"),)
    assert snapshot(Customer) == existing


def test_random_bytes_are_binary(run_import, tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes((i * 7919) % 256 for i in range(20000)))
    with pytest.raises(ImportFileError) as info:
        run_import(path)
    assert info.value.args == (E.BINARY_FILE.format(what="binary data", format="csv"),)


def test_nul_bytes_are_a_row_error(run_import, data_file, existing, tmp_path):
    result = run_import(data_file("nul.csv"))
    assert (result.rejected, result.committed) == (1, False)
    assert read_rejects(tmp_path / "rejects.csv")[0]["message"] == E.NUL_CHARACTER
    assert read_rejects(tmp_path / "rejects.csv")[0]["column"] == "name"
    assert snapshot(Customer) == existing


def test_huge_field_is_a_row_error_in_bounded_memory(run_import, tmp_path, existing):
    path = tmp_path / "huge.csv"
    with open(path, "w") as handle:
        handle.write(HEADER_ONLY)
        handle.write("big@example.com," + "x" * 10_000_000 + ",DE,2024-01-01T00:00:00+00:00\n")
        handle.write("ok@example.com,Ok,DE,2024-01-01T00:00:00+00:00\n")
    tracemalloc.start()
    try:
        result = run_import(path, on_error="skip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.rejected, result.created) == (1, 1)
    rejects = read_rejects(tmp_path / "rejects.csv")
    assert rejects[0]["message"] == E.ROW_TOO_LONG.format(limit=4 * 1024 * 1024)
    assert peak < 12_000_000  # the 10 MB line is never held whole


@override_settings(EXPORTS={"IMPORT_MAX_FIELD_SIZE": 30, "IMPORT_MAX_LINE_LENGTH": 1000})
def test_field_over_the_field_limit(run_import, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(HEADER_ONLY + "a@example.com," + "n" * 31 + ",DE,2024-01-01T00:00:00+00:00\n")
    result = run_import(path)
    assert result.rejected == 1
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["column"], row["message"]) == ("name", E.FIELD_TOO_LONG.format(limit=30))


@override_settings(EXPORTS={"IMPORT_MAX_COLUMNS": 3})
def test_too_many_columns(run_import, data_file):
    with pytest.raises(ImportFileError) as info:
        run_import(data_file("customers.csv"))
    assert info.value.args == (E.TOO_MANY_COLUMNS.format(count=4, limit=3),)


@pytest.fixture
def customer_one():
    return CustomerFactory(id=1)


def test_bad_values_are_row_errors_naming_the_column(run_import, data_file, customer_one, tmp_path):
    before = snapshot(Order)
    result = run_import(data_file("orders_bad_values.csv"), model=Order)
    rejects = [
        (r["line"], r["column"], r["message"]) for r in read_rejects(tmp_path / "rejects.csv")
    ]
    assert rejects == [
        (
            "3",
            "created_at",
            '"2024-02-30T12:00:00+00:00" is not a date and time '
            "(YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM])",
        ),
        ("4", "total_cents", '"12.5" is not an integer'),
        ("5", "is_gift", '"maybe" is not a boolean (true or false)'),
        (
            "6",
            "status",
            E.NOT_A_CHOICE.format(
                value="lost", choices="pending, paid, shipped, cancelled, refunded"
            ),
        ),
        ("7", "discount", E.TOO_MANY_PLACES.format(value="1.505", places=2)),
        (
            "8",
            "customer_id",
            E.UNKNOWN_RELATED.format(model="shop.Customer", field="id", value='"999"'),
        ),
        (
            "9",
            "reference",
            E.DUPLICATE_IN_FILE.format(
                fields="reference", value='"00000000-0000-4000-8000-000000000001"', first=2
            ),
        ),
    ]
    assert (result.rows_read, result.rejected, result.committed) == (8, 7, False)
    assert snapshot(Order) == before


def test_choices_order_is_stable_in_messages():
    # The message lists the choices; guard the order the test above relies on.
    assert [c for c, _ in Order.Status.choices][0] == "pending"


def test_over_long_string_is_a_row_error_on_every_backend(run_import, tmp_path, existing):
    path = tmp_path / "long.csv"
    path.write_text(HEADER_ONLY + "a@example.com,Ann,DEU,2024-01-01T00:00:00+00:00\n")
    result = run_import(path)
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["column"], row["message"]) == ("country", E.TOO_LONG.format(length=3, max_length=2))
    assert result.rejected == 1
    assert snapshot(Customer) == existing


def test_invalid_email_uses_the_fields_validators(run_import, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(HEADER_ONLY + "not-an-email,Ann,DE,2024-01-01T00:00:00+00:00\n")
    run_import(path)
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["column"], row["message"]) == ("email", "Enter a valid email address.")


def test_key_colliding_with_existing_row_in_create_mode(run_import, tmp_path, existing):
    taken = Customer.objects.first().email
    path = tmp_path / "c.csv"
    path.write_text(HEADER_ONLY + f"{taken},Again,DE,2024-01-01T00:00:00+00:00\n")
    result = run_import(path)
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["line"], row["column"], row["message"]) == (
        "2",
        "email",
        E.ALREADY_EXISTS.format(model="shop.Customer", fields="email", value=f'"{taken}"'),
    )
    assert result.rejected == 1
    assert snapshot(Customer) == existing


def test_duplicate_keys_across_batches_in_upsert_mode(run_import, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        HEADER_ONLY
        + "a@example.com,A,DE,2024-01-01T00:00:00+00:00\n"
        + "b@example.com,B,DE,2024-01-01T00:00:00+00:00\n"
        + "a@example.com,A2,DE,2024-01-01T00:00:00+00:00\n"
    )
    result = run_import(path, mode="upsert", key=["email"], chunk_size=1)
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert (row["line"], row["message"]) == (
        "4",
        E.DUPLICATE_IN_FILE.format(fields="email", value='"a@example.com"', first=2),
    )
    assert result.rejected == 1 and not result.committed
    assert Customer.objects.count() == 0


def test_skip_mode_writes_valid_rows(run_import, data_file, customer_one):
    result = run_import(data_file("orders_bad_values.csv"), model=Order, on_error="skip")
    assert (result.created, result.rejected, result.committed) == (1, 7, True)
    assert str(Order.objects.get().reference) == "00000000-0000-4000-8000-000000000001"


def test_max_errors_stops_early(run_import, data_file, customer_one):
    result = run_import(data_file("orders_bad_values.csv"), model=Order, max_errors=2, chunk_size=2)
    assert result.rejected == 2
    assert result.stopped == "stopped after 2 rejected rows (max errors)"
    assert Order.objects.count() == 0


def test_dry_run_writes_nothing(run_import, data_file):
    result = run_import(data_file("customers.csv"), dry_run=True)
    assert result.complete and result.created == 2 and not result.committed
    assert Customer.objects.count() == 0


def test_gzip_input(run_import, tmp_path, data_file):
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(data_file("customers.csv").read_bytes()))
    assert run_import(path).created == 2


def test_damaged_gzip(run_import, tmp_path, data_file):
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(data_file("customers.csv").read_bytes())[:-12])
    with pytest.raises(ImportFileError) as info:
        run_import(path)
    assert str(info.value).startswith("The compressed input is damaged: ")


def test_stream_source(run_import, data_file):
    stream = io.BytesIO(data_file("customers.csv").read_bytes())
    assert run_import(stream).created == 2


def test_null_token(run_import, tmp_path):
    path = tmp_path / "na.tsv"
    path.write_text(
        "id\tcustomer_id\tstatus\ttotal_cents\tdiscount\tcreated_at\tshipped_on\tnote\n"
        "7\t1\tpaid\t5\tNA\t2024-01-01T00:00:00+00:00\tNA\t\n"
    )
    CustomerFactory(id=1)
    result = run_import(path, model=Order, format="tsv", null="NA")
    assert result.complete
    order = Order.objects.get(id=7)
    assert (order.discount, order.shipped_on, order.note) == (None, None, "")


def test_blank_lines_are_skipped_in_multi_column_files(run_import, tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(HEADER_ONLY + "a@example.com,A,DE,2024-01-01T00:00:00+00:00\n\n\n")
    result = run_import(path)
    assert (result.rows_read, result.created) == (1, 1)


def test_existing_orders_untouched_after_failed_update(run_import, tmp_path):
    OrderFactory.create_batch(2)
    before = snapshot(Order)
    ref = Order.objects.first().reference
    path = tmp_path / "u.csv"
    path.write_text(f"reference,total_cents\n{ref},1\n00000000-0000-4000-8000-00000000ffff,2\n")
    result = run_import(path, model=Order, mode="update", key=["reference"])
    assert result.rejected == 1
    assert snapshot(Order) == before
    row = read_rejects(tmp_path / "rejects.csv")[0]
    assert row["message"] == E.DOES_NOT_EXIST.format(
        model="shop.Order", fields="reference", value='"00000000-0000-4000-8000-00000000ffff"'
    )


@pytest.mark.parametrize(
    ("metadata", "stored"),
    [
        ('"{""\\\\u0000"": 1}"', {"\\u0000": 1}),  # an escaped backslash, then "u0000": no NUL
        ('"{""a"": ""x\\\\\\\\u0000""}"', {"a": "x\\\\u0000"}),
    ],
    ids=["key", "value"],
)
def test_json_text_that_only_looks_like_a_nul_escape_is_kept(
    run_import, tmp_path, metadata, stored
):
    customer = CustomerFactory()
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,status,total_cents,created_at,reference,metadata\n"
        f"{customer.pk},paid,1,2024-01-01T00:00:00+00:00,{'1' * 32},{metadata}\n"
    )

    result = run_import(path, model=Order)

    assert (result.rejected, result.created) == (0, 1)
    assert Order.objects.get().metadata == stored


@pytest.mark.parametrize(
    "metadata", ['"{""\\u0000"": 1}"', '"{""a"": [""\\u0000""]}"'], ids=["key", "nested-value"]
)
def test_json_with_a_real_nul_is_a_row_error(run_import, tmp_path, existing, metadata):
    customer = Customer.objects.first()
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,status,total_cents,created_at,reference,metadata\n"
        f"{customer.pk},paid,1,2024-01-01T00:00:00+00:00,{'2' * 32},{metadata}\n"
    )

    result = run_import(path, model=Order)

    assert (result.rejected, result.committed) == (1, False)
    assert read_rejects(tmp_path / "rejects.csv")[0]["message"] == E.NUL_CHARACTER
    assert not Order.objects.exists()
