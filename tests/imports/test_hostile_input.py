"""The import core against hostile input: encodings that are not character sets, and the bounds
(rows, decompressed size, reject-file size) that callers serving untrusted uploads set."""

from __future__ import annotations

import gzip
import io
import os

import pytest

from exports.imports import ImportFileError
from exports.imports import errors as E
from exports.imports.plan import build_plan
from exports.imports.rejects import RejectWriter
from exports.imports.sources import iter_text, text_encoding
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory

from .conftest import read_rejects, snapshot

pytestmark = pytest.mark.django_db

HEADER = b"email,name,country,created_at\n"
GOOD = b"c%d@example.com,C,DE,2024-01-31T13:45:00.000000+00:00\n"
BAD = b"bad-%d,C,DE,2024-01-31T13:45:00.000000+00:00\n"
CUSTOMERS = HEADER + GOOD % 1 + GOOD % 2

NOT_CHARSETS = [
    "base64",
    "hex",
    "rot13",
    "zlib_codec",
    "uu",
    "punycode",
    "bz2_codec",
    "quopri",
    "idna",
    "unicode_escape",
    "raw_unicode_escape",
    "undefined",
]


@pytest.mark.parametrize("encoding", NOT_CHARSETS)
def test_codecs_that_are_not_character_sets_are_refused(run_import, encoding):
    CustomerFactory()
    before = snapshot(Customer)
    with pytest.raises(ImportFileError) as info:
        run_import(io.BytesIO(CUSTOMERS), encoding=encoding)
    assert info.value.args == (E.NOT_TEXT_ENCODING.format(encoding=encoding),)
    assert snapshot(Customer) == before


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "latin-1", "cp1252", "utf-16", "utf_32"])
def test_character_sets_are_accepted(encoding):
    assert text_encoding(encoding) == __import__("codecs").lookup(encoding).name


@pytest.mark.parametrize("encoding", ["no-such-codec", "utf\x00", ""])
def test_unknown_encodings(encoding):
    with pytest.raises(ImportFileError) as info:
        text_encoding(encoding)
    assert info.value.args == (E.BAD_ENCODING.format(encoding=encoding),)


def test_utf16_named_for_a_utf8_file_is_a_file_error(run_import):
    with pytest.raises(ImportFileError) as info:
        run_import(io.BytesIO(CUSTOMERS), encoding="utf-16")
    assert info.value.args == (
        E.DECODE_FAILED.format(
            line=1, encoding="utf-16", error="UTF-16 stream does not start with BOM"
        ),
    )


def test_a_decoding_failure_without_a_position_names_the_line():
    # UTF-16 after a BOM, then an odd byte at the very end: truncated data at the final call.
    chunks = iter([b"\xff\xfe" + "a\nb\n".encode("utf-16-le"), b"\x00"])
    with pytest.raises(ImportFileError) as info:
        list(iter_text(chunks, encoding="utf-16"))
    assert str(info.value).startswith("line 3 (byte offset 10): the byte 0x00 is not valid")


def test_rows_bound(run_import, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(HEADER + b"".join(GOOD % i for i in range(10)))
    result = run_import(path, max_rows=10, chunk_size=3)
    assert (result.created, result.stopped) == (10, "")
    Customer.objects.all().delete()
    result = run_import(path, max_rows=9, chunk_size=3)
    assert result.stopped == E.TOO_MANY_ROWS.format(limit=9)
    assert (result.rows_read, result.committed) == (9, False)
    assert Customer.objects.count() == 0


def test_rows_bound_counts_jsonl_lines(run_import, tmp_path):
    line = '{"email": "j%d@example.com", "name": "J", "country": "DE", "created_at": "%s"}\n'
    path = tmp_path / "c.jsonl"
    path.write_text("".join(line % (i, "2024-01-31T13:45:00+00:00") for i in range(3)))
    assert run_import(path, format="jsonl", max_rows=3).created == 3
    Customer.objects.all().delete()
    result = run_import(path, format="jsonl", max_rows=2)
    assert result.stopped == E.TOO_MANY_ROWS.format(limit=2)


def test_decompressed_bound(run_import, tmp_path):
    path = tmp_path / "c.csv.gz"
    content = HEADER + b"".join(GOOD % i for i in range(1000))
    path.write_bytes(gzip.compress(content))
    result = run_import(path, max_decompressed_size=len(content))
    assert (result.created, result.stopped) == (1000, "")
    Customer.objects.all().delete()
    result = run_import(path, max_decompressed_size=len(content) - 1)
    assert result.stopped == E.DECOMPRESSED_TOO_LARGE.format(limit=len(content) - 1)
    assert Customer.objects.count() == 0


def test_a_gzip_bomb_stops_at_the_bound_in_bounded_time(run_import, tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(HEADER)
        for _ in range(100):
            out.write(b"\n" * 10_000_000)  # a gigabyte of blank lines
    assert os.path.getsize(path) < 2_000_000
    result = run_import(path, max_decompressed_size=1_000_000)
    assert result.stopped == E.DECOMPRESSED_TOO_LARGE.format(limit=1_000_000)


def test_reject_file_bound(run_import, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER + b"".join(BAD % i for i in range(100)))
    result = run_import(path, max_rejects_size=1000, on_error="skip")
    assert result.stopped == E.REJECTS_TOO_LARGE.format(limit=1000)
    size = os.path.getsize(tmp_path / "rejects.csv")
    assert 900 < size <= 1000
    rows = read_rejects(tmp_path / "rejects.csv")
    assert [r["line"] for r in rows] == [str(n) for n in range(2, 2 + len(rows))]


def test_reject_writer_counts_the_header_and_never_passes_the_bound(tmp_path):
    writer = RejectWriter(tmp_path / "r.csv", max_bytes=60)
    writer.write([E.RowError(2, "a", "bad")], "x,y")
    writer.flush()
    assert os.path.getsize(tmp_path / "r.csv") == 38  # header 24 + '2,a,bad,"x,y"\n' 14
    with pytest.raises(ImportFileError):
        writer.write([E.RowError(3, "a", "bad"), E.RowError(3, "b", "bad")], "x,y")
    writer.close()
    assert os.path.getsize(tmp_path / "r.csv") == 38
    assert writer.rows == 1


def test_plan_accepts_a_lookup_only_when_declared():
    header = ["customer__email", "status", "total_cents", "currency", "reference", "created_at"]
    declared = ["customer_id", "status", "total_cents", "currency", "reference", "created_at"]
    with pytest.raises(ImportFileError) as info:
        build_plan(
            Order, header, mode="create", key=None, mapping=None, allowed=declared, max_columns=100
        )
    assert str(info.value) == (
        "The header does not fit shop.Order: unknown columns: customer__email; "
        "missing required columns: customer."
    )
    plan = build_plan(
        Order,
        header,
        mode="create",
        key=None,
        mapping=None,
        allowed=[*declared, "customer__email"],
        max_columns=100,
    )
    assert plan.targets[0].lookup is Customer._meta.get_field("email")
    # The key itself under its other names is the declared column.
    plan = build_plan(
        Order,
        ["customer", *header[1:]],
        mode="create",
        key=None,
        mapping=None,
        allowed=declared,
        max_columns=100,
    )
    assert plan.targets[0].lookup is None
