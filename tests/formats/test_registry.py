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


def test_the_xlsx_zip_stack_loads_only_when_a_workbook_is_written():
    """stream-zip and ISA-L cost several MB in every process (imports, CSV exports) that never
    writes XLSX."""
    import subprocess
    import sys

    from exports.formats import xlsx, zippipe

    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'exportsite.settings';"
        " django.setup(); import exports.formats, exports.stream;"
        " print(sorted(m for m in ('stream_zip', 'isal') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert loaded.strip() == "[]"
    assert xlsx.ZIP32_LIMIT == zippipe.ZIP32_LIMIT
