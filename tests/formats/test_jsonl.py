"""The JSON Lines writer: exact bytes, one object per row."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.db import models

from exports.columns import Column, resolve_columns
from exports.errors import ExportError
from exports.formats import get_writer_class
from exports.formats.jsonl import JSONLinesWriter
from exportsite.shop.models import Order


def writer(fields, *, vendor="postgresql", labels=None, **options):
    return JSONLinesWriter(resolve_columns(Order, fields, labels), vendor=vendor, **options)


def jsonl_bytes(fields, rows, **options) -> bytes:
    w = writer(fields, **options)
    return w.begin() + w.write_batch(rows)


def test_registry_entry():
    w = writer(["id"])

    assert get_writer_class("jsonl") is JSONLinesWriter
    assert (w.name, w.extension, w.content_type) == (
        "jsonl",
        "jsonl",
        "application/jsonl; charset=utf-8",
    )


def test_one_object_per_row_keys_in_column_order_no_header():
    data = jsonl_bytes(["status", "id"], [("paid", 2), ("shipped", 1)])

    assert data == b'{"status": "paid", "id": 2}\n{"status": "shipped", "id": 1}\n'


def test_every_kind_of_demo_value():
    fields = [
        "id",
        "total_cents",
        "discount",
        "is_gift",
        "created_at",
        "shipped_on",
        "note",
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
            "Line one\nLine two",
            uuid.UUID(int=1, version=4),
            '{"a": 1.50, "bb": [true, null]}',
        ),
        (2, 0, None, False, dt.datetime(1999, 12, 31, tzinfo=dt.UTC), None, "", None, "[]"),
    ]

    data = jsonl_bytes(fields, rows)

    assert data == (
        b'{"id": 1, "total_cents": -12, "discount": "12.30", "is_gift": true, '
        b'"created_at": "2024-01-31T13:45:00.000005+00:00", "shipped_on": "2024-01-31", '
        b'"note": "Line one\\nLine two", "reference": "00000000-0000-4000-8000-000000000001", '
        b'"metadata": {"a": 1.50, "bb": [true, null]}}\n'
        b'{"id": 2, "total_cents": 0, "discount": null, "is_gift": false, '
        b'"created_at": "1999-12-31T00:00:00.000000+00:00", "shipped_on": null, '
        b'"note": "", "reference": null, "metadata": []}\n'
    )


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        pytest.param('say "hi"', b'"say \\"hi\\""', id="quote"),
        pytest.param("back\\slash", b'"back\\\\slash"', id="backslash"),
        pytest.param("a\r\nb\rc\td", b'"a\\r\\nb\\rc\\td"', id="cr-lf-tab"),
        pytest.param("bell\x07", b'"bell\\u0007"', id="control"),
        pytest.param("Emoji 🎁📦✨", '"Emoji 🎁📦✨"'.encode(), id="emoji-kept"),
        pytest.param("עברית", '"עברית"'.encode(), id="hebrew-kept"),
        pytest.param("</script>", b'"</script>"', id="slash-kept"),
        pytest.param("NULL", b'"NULL"', id="the-word-null"),
    ],
)
def test_text_escapes(note, expected):
    data = jsonl_bytes(["note"], [(note,)])

    assert data == b'{"note": ' + expected + b"}\n"
    assert json.loads(data) == {"note": note}


def test_json_from_sqlite_is_written_as_jsonb_text():
    rows = [('{"items": 3, "channel": "w\\u00e9b", "n": 1.50}',)]

    data = jsonl_bytes(["metadata"], rows, vendor="sqlite")

    assert data == '{"metadata": {"n": 1.50, "items": 3, "channel": "wéb"}}\n'.encode()


@pytest.mark.parametrize("note", ["=1+2", "+1", "-2", "@x", "\tt", "\rr"], ids=repr)
def test_formula_guard(note):
    data = jsonl_bytes(["note", "total_cents"], [(note, -5)], escape_formulas=True)

    assert json.loads(data) == {"note": "'" + note, "total_cents": -5}


def test_formula_guard_is_off_by_default():
    assert jsonl_bytes(["note"], [("=1+2",)]) == b'{"note": "=1+2"}\n'


def test_labels_are_the_keys():
    data = jsonl_bytes(["id"], [(1,)], labels={"id": 'Order "no"'})

    assert data == b'{"Order \\"no\\"": 1}\n'


def test_bom():
    assert jsonl_bytes(["id"], [(1,)], bom=True) == b'\xef\xbb\xbf{"id": 1}\n'


def test_header_option_changes_nothing():
    assert jsonl_bytes(["id"], [(1,)], header=False) == jsonl_bytes(["id"], [(1,)])


def test_an_empty_batch_writes_nothing():
    assert writer(["id"]).write_batch([]) == b""


def test_no_delimiter_option():
    with pytest.raises(ExportError) as excinfo:
        writer(["id"], delimiter=";")

    assert excinfo.value.args == ("The jsonl format has no delimiter option.",)


def test_floats_are_numbers_and_non_finite_floats_strings():
    columns = (Column(path="ratio", field=models.FloatField(), label="ratio"),)
    w = JSONLinesWriter(columns, vendor="postgresql")

    data = w.write_batch([(0.1,), (1e16,), (float("nan"),), (float("-inf"),), (None,)])

    assert data == (
        b'{"ratio": 0.1}\n{"ratio": 1e+16}\n{"ratio": "nan"}\n{"ratio": "-inf"}\n{"ratio": null}\n'
    )
