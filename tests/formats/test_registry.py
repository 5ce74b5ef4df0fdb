"""The format registry: writers looked up by name and by file suffix."""

from __future__ import annotations

import pytest

from exports import formats
from exports.errors import ExportError


def test_names():
    assert formats.names() == ("csv", "tsv", "jsonl", "xlsx")


def test_unknown_format():
    with pytest.raises(ExportError) as excinfo:
        formats.get_writer_class("xls")

    assert excinfo.value.args == ('Unknown format "xls"; choose one of: csv, tsv, jsonl, xlsx.',)


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
        ("orders.xlsx", "xlsx"),
        ("orders.txt", None),
        ("orders.gz", None),
        ("orders", None),
    ],
)
def test_format_for_path(path, expected):
    assert formats.format_for_path(path) == expected
