"""The format registry: writers looked up by name and by file suffix."""

from __future__ import annotations

import pytest

from exports import formats
from exports.errors import ExportError


def test_names():
    assert formats.names() == ("csv", "tsv", "jsonl")


def test_unknown_format():
    with pytest.raises(ExportError) as excinfo:
        formats.get_writer_class("xlsx")

    assert excinfo.value.args == ('Unknown format "xlsx"; choose one of: csv, tsv, jsonl.',)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("orders.csv", "csv"),
        ("orders.CSV", "csv"),
        ("out/orders.tsv", "tsv"),
        ("orders.jsonl", "jsonl"),
        ("orders.csv.gz", "csv"),
        ("orders.tsv.GZ", "tsv"),
        ("orders.jsonl.gz", "jsonl"),
        ("orders.txt", None),
        ("orders.gz", None),
        ("orders", None),
    ],
)
def test_format_for_path(path, expected):
    assert formats.format_for_path(path) == expected
