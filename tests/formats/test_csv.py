"""The CSV and TSV writers: exact bytes for the dialect PostgreSQL's COPY writes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import uuid
from decimal import Decimal

import pytest
from django.db import models

from exports.columns import Column, resolve_columns
from exports.errors import ExportError
from exports.formats import get_writer_class
from exports.formats.csv import CSVWriter, TSVWriter
from exportsite.shop.models import Order

FORMULA_NOTES = ["=1+2", "+1 555", "-2 items", "@SUM(A1)", "\tTab", "\rCR"]


def writer(fields, *, cls=CSVWriter, vendor="postgresql", **options):
    return cls(resolve_columns(Order, fields), vendor=vendor, **options)


def csv_bytes(fields, rows, **options) -> bytes:
    w = writer(fields, **options)
    return w.begin() + w.write_batch(rows)


def test_registry_names_media_types_and_extensions():
    assert (CSVWriter.name, CSVWriter.media_type, CSVWriter.extension) == (
        "csv",
        "text/csv",
        "csv",
    )
    assert (TSVWriter.name, TSVWriter.media_type, TSVWriter.extension) == (
        "tsv",
        "text/tab-separated-values",
        "tsv",
    )
    assert writer(["id"]).content_type == "text/csv; charset=utf-8"
    assert get_writer_class("CSV") is CSVWriter


def test_header_and_rows_end_with_lf():
    data = csv_bytes(["id", "status"], [(1, "paid"), (2, "shipped")])

    assert data == b"id,status\n1,paid\n2,shipped\n"


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        pytest.param("plain", b"plain", id="plain"),
        pytest.param("a,b", b'"a,b"', id="delimiter"),
        pytest.param('say "hi"', b'"say ""hi"""', id="quote"),
        pytest.param('"', b'""""', id="only-a-quote"),
        pytest.param("one\ntwo", b'"one\ntwo"', id="lf"),
        pytest.param("one\r\ntwo", b'"one\r\ntwo"', id="crlf"),
        pytest.param("one\rtwo", b'"one\rtwo"', id="lone-cr"),
        pytest.param("", b'""', id="empty-string"),
        pytest.param(None, b"", id="null"),
        pytest.param("  padded  ", b"  padded  ", id="spaces-kept"),
        pytest.param("tab\there", b"tab\there", id="tab-unquoted-in-csv"),
        pytest.param("semi;colon", b"semi;colon", id="semicolon"),
        pytest.param("NULL", b"NULL", id="the-word-null"),
        pytest.param("back\\slash \\N", b"back\\slash \\N", id="backslashes"),
        pytest.param("\\.", b"\\.", id="end-marker-among-columns"),
        pytest.param("Emoji 🎁📦✨", "Emoji 🎁📦✨".encode(), id="emoji"),
        pytest.param("עברית: נא להתקשר", "עברית: נא להתקשר".encode(), id="hebrew"),
        pytest.param("مرحبا، شكرا", "مرحبا، شكرا".encode(), id="arabic"),
    ],
)
def test_text_quoting(note, expected):
    assert csv_bytes(["id", "note"], [(7, note)], header=False) == b"7," + expected + b"\n"


def test_null_and_empty_string_stay_distinct():
    data = csv_bytes(["note", "discount"], [("", None), (None, Decimal("0.00"))], header=False)

    assert data == b'"",\n,0.00\n'


def test_end_of_data_marker_is_quoted_in_a_single_column():
    """COPY quotes a lone ``\\.`` so old clients do not read it as the end of data."""
    assert csv_bytes(["note"], [("\\.",), ("",), (None,)], header=False) == b'"\\."\n""\n\n'


def test_canonical_forms_of_every_demo_column():
    fields = [
        "id",
        "total_cents",
        "discount",
        "is_gift",
        "created_at",
        "shipped_on",
        "reference",
        "metadata",
    ]
    cet = dt.timezone(dt.timedelta(hours=1))
    rows = [
        (
            1,
            -12,
            Decimal("12.30"),
            True,
            dt.datetime(2024, 1, 31, 14, 45, 0, 5, tzinfo=cet),
            dt.date(2024, 1, 31),
            uuid.UUID("0B0CBE5A-4F9D-4C1A-9B61-2B0F4C8E0D11"),
            '{"a": 1, "bb": [true, null]}',
        ),
        (2, 0, Decimal("-0.50"), False, dt.datetime(1999, 12, 31, tzinfo=dt.UTC), None, None, "{}"),
    ]

    data = csv_bytes(fields, rows)

    assert data == (
        b"id,total_cents,discount,is_gift,created_at,shipped_on,reference,metadata\n"
        b"1,-12,12.30,true,2024-01-31T13:45:00.000005+00:00,2024-01-31,"
        b'0b0cbe5a-4f9d-4c1a-9b61-2b0f4c8e0d11,"{""a"": 1, ""bb"": [true, null]}"\n'
        b"2,0,-0.50,false,1999-12-31T00:00:00.000000+00:00,,,{}\n"
    )


def test_json_from_sqlite_is_rewritten_to_jsonb_text():
    rows = [('{"items":3,"channel":"w\\u00e9b","x":1.50}',)]

    data = csv_bytes(["metadata"], rows, vendor="sqlite", header=False)

    assert data == '"{""x"": 1.50, ""items"": 3, ""channel"": ""wéb""}"\n'.encode()


@pytest.mark.parametrize("note", FORMULA_NOTES, ids=repr)
def test_formula_guard_prefixes_a_quote_to_text(note):
    data = csv_bytes(["note"], [(note,)], header=False, escape_formulas=True)

    expected = "'" + note
    if "\r" in note:
        expected = f'"{expected}"'
    assert data == (expected + "\n").encode()


@pytest.mark.parametrize("note", FORMULA_NOTES, ids=repr)
def test_formula_guard_is_off_by_default(note):
    data = csv_bytes(["note"], [(note,)], header=False)

    assert data == ((f'"{note}"' if "\r" in note else note) + "\n").encode()


def test_formula_guard_leaves_numbers_dates_and_inner_characters_alone():
    rows = [(-5, Decimal("-1.50"), "a=b", "", None, "x; y-1")]
    fields = ["total_cents", "discount", "note", "status", "currency", "customer__email"]

    data = csv_bytes(fields, rows, header=False, escape_formulas=True)

    assert data == b'-5,-1.50,a=b,"",,x; y-1\n'


# Another locale's separator, a tab or a line break starts a new cell inside a value when a
# reader splits on it, quoted or not: a "'" goes right after it (and at the start).
SEPARATED_FORMULAS = [
    ("x;=1+1", b"x;'=1+1"),
    ("3;x;@SUM(A1)", b"3;x;'@SUM(A1)"),
    ("a,-2", b'"a,\'-2"'),
    ("a\t+1", b"a\t'+1"),
    ("a\n=1", b'"a\n\'=1"'),
    ("a\r\n=1", b'"a\r\n\'=1"'),
    ("x; =1+1", b"x;' =1+1"),
    ('x;"=1', b'"x;\'""=1"'),
    (" =leading space", b"' =leading space"),
    ('"=1', b'"\'""=1"'),
    ("\n=1", b"\"'\n'=1\""),
    ("\x00x", b"'\x00x"),
    ("\ufeff=1", "'\ufeff=1".encode()),
    ("\u00a0+1", "'\u00a0+1".encode()),
    ("x;\u200b=1", "x;'\u200b=1".encode()),
    ("\uff1d1+1", "'\uff1d1+1".encode()),
    ("x;\uff0b1", "x;'\uff0b1".encode()),
    ("\u22121", "'\u22121".encode()),
    ("=a;=b,@c", b"\"'=a;'=b,'@c\""),
]


@pytest.mark.parametrize(("note", "expected"), SEPARATED_FORMULAS, ids=repr)
def test_formula_guard_after_separators_blanks_and_quotes(note, expected):
    data = csv_bytes(["note"], [(note,)], header=False, escape_formulas=True)

    assert data == expected + b"\n"


@pytest.mark.parametrize(("note", "expected"), SEPARATED_FORMULAS, ids=repr)
def test_tsv_formula_guard_writes_the_same_text(note, expected):
    data = csv_bytes(["note"], [(note,)], cls=TSVWriter, header=False, escape_formulas=True)

    (tsv_cell,) = next(csv.reader(io.StringIO(data.decode(), newline=""), delimiter="\t"))
    (csv_cell,) = next(csv.reader(io.StringIO(expected.decode(), newline="")))
    assert tsv_cell == csv_cell


def test_formula_guard_in_json_cells_keeps_valid_json():
    """Inside JSON strings only: jsonb's ", " before a negative number or a key stays as is."""
    rows = [('{"a": [1, -2], "b": "x;=1", "=k": "p,@q"}',)]

    data = csv_bytes(["metadata"], rows, vendor="sqlite", header=False, escape_formulas=True)

    assert data == b'"{""a"": [1, -2], ""b"": ""x;\'=1"", ""=k"": ""p,\'@q""}"\n'
    assert csv_bytes(["metadata"], rows, vendor="sqlite", header=False) == (
        b'"{""a"": [1, -2], ""b"": ""x;=1"", ""=k"": ""p,@q""}"\n'
    )


def test_formula_guard_applies_to_text_through_a_join():
    data = csv_bytes(["customer__email"], [("=cmd@example.com",)], escape_formulas=True)

    assert data == b"customer__email\n'=cmd@example.com\n"


def test_bom_comes_before_the_header():
    data = csv_bytes(["id"], [(1,)], bom=True)

    assert data == b"\xef\xbb\xbfid\n1\n"


def test_bom_without_header():
    assert csv_bytes(["id"], [(1,)], bom=True, header=False) == b"\xef\xbb\xbf1\n"


def test_no_header():
    w = writer(["id", "status"], header=False)

    assert w.begin() == b""
    assert w.write_batch([(1, "paid")]) == b"1,paid\n"


def test_header_labels_are_quoted_like_values():
    columns = resolve_columns(Order, ["id", "note"], {"id": "Order, number", "note": 'The "note"'})
    w = CSVWriter(columns, vendor="postgresql")

    assert w.header() == b'"Order, number","The ""note"""\n'


def test_an_empty_batch_writes_nothing():
    assert writer(["id"]).write_batch([]) == b""


@pytest.mark.parametrize(
    ("delimiter", "expected"),
    [
        pytest.param(";", b'id;note;discount\n1;"a;b";1.50\n2;a,b;\n', id="semicolon"),
        pytest.param("|", b"id|note|discount\n1|a;b|1.50\n2|a,b|\n", id="pipe"),
        pytest.param(" ", b"id note discount\n1 a;b 1.50\n2 a,b \n", id="space"),
        # A delimiter that canonical numbers may hold: those values are quoted too.
        pytest.param(".", b'id.note.discount\n1.a;b."1.50"\n2.a,b.\n', id="dot"),
    ],
)
def test_custom_delimiter(delimiter, expected):
    rows = [(1, "a;b", Decimal("1.50")), (2, "a,b", None)]

    assert csv_bytes(["id", "note", "discount"], rows, delimiter=delimiter) == expected


def test_a_non_safe_delimiter_quotes_dates_and_negative_numbers():
    rows = [(-5, dt.date(2024, 1, 2))]

    data = csv_bytes(["total_cents", "shipped_on"], rows, delimiter="-", header=False)

    assert data == b'"-5"-"2024-01-02"\n'


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n", "\r"], ids=repr)
def test_bad_delimiter(delimiter):
    with pytest.raises(ExportError) as excinfo:
        writer(["id"], delimiter=delimiter)

    assert excinfo.value.args == (
        "The delimiter must be one character other than a quote or a line break, "
        f"not {delimiter!r}.",
    )


def test_tsv_uses_a_tab_and_quotes_tabs():
    rows = [(1, "tab\there"), (2, "a,b"), (3, None), (4, "")]

    data = csv_bytes(["id", "note"], rows, cls=TSVWriter)

    assert data == b'id\tnote\n1\t"tab\there"\n2\ta,b\n3\t\n4\t""\n'


def test_tsv_formula_guard_quotes_a_leading_tab():
    data = csv_bytes(["note"], [("\tx",)], cls=TSVWriter, header=False, escape_formulas=True)

    assert data == b'"\'\tx"\n'


class ListField(models.Field):
    """Stands in for ArrayField and other types the exporter has no kind for."""

    def get_internal_type(self) -> str:
        return "ArrayField"


@pytest.mark.parametrize("escape_formulas", [False, True], ids=["plain", "escaped"])
def test_values_of_unknown_field_types_are_written_as_their_text(escape_formulas):
    columns = (
        Column(path="ip", field=models.GenericIPAddressField(), label="ip"),
        Column(path="tags", field=ListField(), label="tags"),
    )
    writer = CSVWriter(columns, vendor="postgresql", escape_formulas=escape_formulas)

    data = writer.write_batch(
        [(ipaddress.ip_address("10.0.0.1"), ["a", "b,c"]), ("::1", None), (None, [])]
    )

    assert data == b"10.0.0.1,\"['a', 'b,c']\"\n::1,\n,[]\n"
