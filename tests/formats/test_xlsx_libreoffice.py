"""LibreOffice (headless, Debian's) opens the exported XLSX: types, shown values, no formulas.

Rows are stored through the ORM and exported from the database, then converted twice by
``soffice``: to CSV with cells "as shown" (values as a person sees them: leading zeros, decimal
places, date formats) and to flat ODF (``.fods``), whose cells carry LibreOffice's own value
types (float, date, time, boolean, string) and any formula it found.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import uuid
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from exports.formats.xlsx import CUT_MARKER
from exports.stream import prepare_export
from exportsite.shapes.models import Reading

pytestmark = [pytest.mark.libreoffice, pytest.mark.django_db]

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
# Export filter: ",", '"', UTF-8, from line 1, ..., cells as shown, every sheet (one file each).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
FIELDS = [
    "code",
    "quantity",
    "amount",
    "score",
    "big",
    "flag",
    "day",
    "at",
    "clock",
    "took",
    "ref",
    "data",
    "label",
    "note",
]
LONG = "z" * 40_000


def convert(source: Path, target: str, workdir: Path) -> Path:
    """Convert ``source`` with its own LibreOffice profile; return the output directory."""
    out = workdir / target.split(":")[0]
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{workdir}/profile",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(workdir)},
    )
    return out


def fods_cells(path: Path) -> list[list[tuple[str | None, str, str | None]]]:
    """Rows of ``(value type, shown text, formula)``, trailing empty cells dropped."""
    rows = []
    for row in ET.parse(path).iter(f"{{{TABLE}}}table-row"):
        cells = []
        for cell in row.iter(f"{{{TABLE}}}table-cell"):
            repeat = int(cell.get(f"{{{TABLE}}}number-columns-repeated", "1"))
            shown = "\n".join("".join(p.itertext()) for p in cell.iter(f"{{{TEXT}}}p"))
            value = (
                cell.get(f"{{{OFFICE}}}value-type"),
                shown,
                cell.get(f"{{{TABLE}}}formula"),
            )
            cells.extend([value] * min(repeat, 100))
        while cells and cells[-1] == (None, "", None):
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


@pytest.fixture
def readings():
    Reading.objects.create(
        code="007",
        quantity=42,
        amount=Decimal("12.30"),
        score=0.1,
        big=999_999_999_999_999,
        flag=True,
        day=dt.date(2024, 2, 29),
        at=dt.datetime(2024, 1, 31, 13, 45, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        clock=dt.time(13, 45),
        took=dt.timedelta(days=1, hours=2, minutes=3, seconds=4),
        ref=uuid.UUID(int=255),
        data={"b": [1, None], "a": "x"},
        label=None,
        note="=1+1",
    )
    Reading.objects.create(
        code="00123",
        quantity=-7,
        amount=Decimal("-0.05"),
        score=-2.5,
        big=1_000_000_000_000_001,
        flag=False,
        day=dt.date(1900, 2, 28),
        at=dt.datetime(2024, 6, 1, 0, 0, 0, 250_000, tzinfo=dt.UTC),
        clock=dt.time(0, 0, 1, 500_000),
        took=dt.timedelta(0),
        ref=None,
        data=[],
        label="",
        note="a\x01b _x0041_ lone\rCR",
    )
    Reading.objects.create(code="long", quantity=0, label="x", note=LONG)


def test_libreoffice_reads_values_and_types(readings, tmp_path):
    export = prepare_export(queryset=Reading.objects.order_by("pk"), fields=FIELDS, format="xlsx")
    source = tmp_path / "readings.xlsx"
    source.write_bytes(b"".join(export))

    csv_dir = convert(source, CSV_FILTER, tmp_path)
    with open(csv_dir / "readings-Sheet1.csv", encoding="utf-8", newline="") as file:
        shown = list(csv.reader(file))
    marker = CUT_MARKER.format(length=len(LONG))
    assert shown == [
        FIELDS[:7] + ["at (UTC)"] + FIELDS[8:],
        [
            "007",
            "42",
            "12.30",
            "0.1",
            "999999999999999",
            "TRUE",
            "2024-02-29",
            "2024-01-31 11:45:07",
            "13:45:00",
            "P1DT02H03M04S",
            "00000000-0000-0000-0000-0000000000ff",
            '{"a": "x", "b": [1, null]}',
            "",
            "=1+1",
        ],
        [
            "00123",
            "-7",
            "-0.05",
            "-2.5",
            "1000000000000001",
            "FALSE",
            "1900-02-28",
            "2024-06-01 00:00:00.250",
            "00:00:01.500",
            "P0DT00H00M00S",
            "",
            "[]",
            "",
            # Excel's escapes decoded, the CR kept. (In a cell of several lines LibreOffice
            # keeps each line break as LF, CRLF and CR too; openpyxl reads them as written.)
            "a\x01b _x0041_ lone\rCR",
        ],
        ["long", "0"] + [""] * 10 + ["x", "z" * (32_767 - len(marker)) + marker],
    ]

    fods_dir = convert(source, "fods", tmp_path)
    cells = fods_cells(fods_dir / "readings.fods")
    types = [[value_type for value_type, _, _ in row] for row in cells]
    assert types[1] == [
        "string",  # leading zeros kept
        "float",
        "float",
        "float",
        "float",
        "float",  # LibreOffice keeps a boolean as a number shown TRUE/FALSE (the CSV above)
        "date",
        "date",
        "time",
        "string",
        "string",
        "string",
        None,  # NULL: an empty cell
        "string",  # "=1+1": text, not a formula
    ]
    assert types[2][4] == "string"  # 16 digits: text, so no digit is lost
    assert types[2][6] == "string"  # before 1900-03-01: text
    # "[]" is text; the empty string is an empty text cell, which LibreOffice reads as no
    # value at all (openpyxl reads "": test_xlsx.py).
    assert types[2][11:13] == ["string", None]
    # LibreOffice reads a boolean cell as the formula TRUE() or FALSE(); nothing else may be one.
    formulas = {cell[2] for row in cells for cell in row if cell[2]}
    assert formulas == {"of:=TRUE()", "of:=FALSE()"}
