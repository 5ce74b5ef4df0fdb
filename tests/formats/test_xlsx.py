"""The XLSX writer: typed cells, styles, sheet limits, and a ZIP that streams as rows arrive.

Files are read back with openpyxl (values, number formats, fonts, panes, filters) and with
:mod:`zipfile` (members, Zip32 or Zip64); what only a spreadsheet can say (numbers shown as
numbers, escapes decoded) is in ``test_xlsx_libreoffice.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zipfile
import zlib
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest

from exports import formats
from exports.columns import Column, resolve_columns
from exports.errors import ExportError
from exports.formats import zippipe
from exports.formats.xlsx import CUT_MARKER, XLSXWriter
from exportsite.shapes.models import Reading
from exportsite.shop.models import Order


def xlsx_writer(fields, *, model=Reading, labels=None, **options) -> XLSXWriter:
    return XLSXWriter(resolve_columns(model, fields, labels or {}), vendor="sqlite", **options)


def xlsx_bytes(fields, rows, *, batches=1, **options) -> bytes:
    writer = xlsx_writer(fields, **options)
    size = max(1, -(-len(rows) // batches))
    chunks = [writer.begin()]
    chunks += [writer.write_batch(rows[i : i + size]) for i in range(0, len(rows), size)]
    chunks.append(writer.end())
    return b"".join(chunks)


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def cells(data: bytes, sheet: int = 0) -> list[list]:
    """The values of a sheet, row by row."""
    ws = workbook(data).worksheets[sheet]
    return [[cell.value for cell in row] for row in ws.iter_rows()]


def one_cell(field: str, value):
    """The openpyxl cell holding ``value`` written in column ``field``."""
    ws = workbook(xlsx_bytes([field], [(value,)])).active
    return ws["A2"]


def sheet_xml(data: bytes, number: int = 1) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(f"xl/worksheets/sheet{number}.xml").decode()


# The registry ------------------------------------------------------------------------------


def test_registered_with_media_type_and_extension():
    assert formats.get_writer_class("XLSX") is XLSXWriter
    assert formats.format_for_path("out/Orders.XLSX") == "xlsx"
    assert (XLSXWriter.media_type, XLSXWriter.extension) == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )
    # A ZIP has no charset.
    assert xlsx_writer(["code"]).content_type == XLSXWriter.media_type


def test_no_delimiter_option():
    with pytest.raises(ExportError) as excinfo:
        xlsx_writer(["code"], delimiter=";")
    assert excinfo.value.args == ("The xlsx format has no delimiter option.",)


# Typed cells -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected", "data_type", "number_format"),
    [
        pytest.param("quantity", 7, 7, "n", "0", id="integer"),
        pytest.param("quantity", -7, -7, "n", "0", id="negative-integer"),
        pytest.param("big", 10**15 - 1, 10**15 - 1, "n", "0", id="15-digits"),
        pytest.param("big", -(10**15) + 1, -(10**15) + 1, "n", "0", id="-15-digits"),
        pytest.param("big", 10**15, "1000000000000000", "s", "General", id="16-digits"),
        pytest.param("big", 2**53 + 1, "9007199254740993", "s", "General", id="beyond-2-53"),
        pytest.param("big", -(2**63), str(-(2**63)), "s", "General", id="bigint-min"),
        pytest.param("amount", Decimal("12.30"), 12.3, "n", "0.00", id="decimal"),
        pytest.param("amount", Decimal("-0.01"), -0.01, "n", "0.00", id="small-decimal"),
        pytest.param("amount", Decimal("999999.99"), 999999.99, "n", "0.00", id="decimal-max"),
        pytest.param("score", 0.1, 0.1, "n", "General", id="float"),
        pytest.param("score", 1e300, 1e300, "n", "General", id="float-exponent"),
        pytest.param("score", float("nan"), "nan", "s", "General", id="nan"),
        pytest.param("score", float("-inf"), "-inf", "s", "General", id="-inf"),
        pytest.param("flag", True, True, "b", "General", id="true"),
        pytest.param("flag", False, False, "b", "General", id="false"),
        pytest.param(
            "day", dt.date(2024, 2, 29), dt.datetime(2024, 2, 29), "d", "yyyy-mm-dd", id="date"
        ),
        pytest.param(
            "day", dt.date(1900, 3, 1), dt.datetime(1900, 3, 1), "d", "yyyy-mm-dd", id="1900-03-01"
        ),
        pytest.param(
            "day", dt.date(1900, 2, 28), "1900-02-28", "s", "General", id="before-1900-03"
        ),
        pytest.param("day", dt.date(1, 1, 1), "0001-01-01", "s", "General", id="year-1"),
        pytest.param(
            "at",
            dt.datetime(2024, 1, 31, 13, 45, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            dt.datetime(2024, 1, 31, 11, 45, 7),
            "d",
            "yyyy-mm-dd hh:mm:ss",
            id="aware-datetime-in-utc",
        ),
        pytest.param(
            "at",
            dt.datetime(2024, 1, 31, 13, 45, 7, 250000, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 31, 13, 45, 7, 250000),
            "d",
            "yyyy-mm-dd hh:mm:ss.000",
            id="datetime-fraction",
        ),
        pytest.param(
            "at",
            dt.datetime(1899, 12, 31, 23, 0, tzinfo=dt.UTC),
            "1899-12-31T23:00:00.000000",
            "s",
            "General",
            id="datetime-before-1900",
        ),
        pytest.param("clock", dt.time(13, 45), dt.time(13, 45), "d", "hh:mm:ss", id="time"),
        pytest.param(
            "clock",
            dt.time(0, 0, 0, 500000),
            dt.time(0, 0, 0, 500000),
            "d",
            "hh:mm:ss.000",
            id="time-fraction",
        ),
        pytest.param("took", dt.timedelta(days=1, seconds=3), "P1DT00H00M03S", "s", "General"),
        pytest.param(
            "ref",
            uuid.UUID(int=255),
            "00000000-0000-0000-0000-0000000000ff",
            "s",
            "General",
            id="uuid",
        ),
        pytest.param(
            "data", '{"b": 1, "a": [true, null]}', '{"a": [true, null], "b": 1}', "s", "General"
        ),
        pytest.param("blob", b"\x00\xff", "AP8=", "s", "General", id="binary"),
        pytest.param("code", "007", "007", "s", "General", id="leading-zeros"),
        pytest.param("code", "=1+1", "=1+1", "s", "General", id="formula-stays-text"),
        pytest.param("code", "1e5", "1e5", "s", "General", id="number-like-text"),
        pytest.param("code", "", "", "s", "General", id="empty-string"),
        pytest.param("code", " x\n", " x\n", "s", "General", id="edge-blanks"),
        pytest.param("code", "a<&>b", "a<&>b", "s", "General", id="xml-specials"),
        pytest.param("code", "🎁 עברית", "🎁 עברית", "s", "General", id="non-ascii"),
    ],
)
def test_cell(field, value, expected, data_type, number_format):
    cell = one_cell(field, value)
    assert (cell.value, cell.data_type, cell.number_format) == (
        expected,
        data_type,
        number_format,
    )


def test_null_is_an_empty_cell_in_its_column():
    data = xlsx_bytes(["code", "quantity", "label"], [("a", None, "z"), (None, 2, None)])
    assert cells(data) == [["code", "quantity", "label"], ["a", None, "z"], [None, 2, None]]
    assert "<c/>" in sheet_xml(data)


def test_text_cells_are_inline_strings_never_formulas():
    xml = sheet_xml(xlsx_bytes(["code"], [("=SUM(A1:A9)",)]))
    assert '<c t="inlineStr"><is><t>=SUM(A1:A9)</t></is></c>' in xml
    assert "<f>" not in xml


def test_characters_xml_cannot_hold_are_excel_escapes():
    # openpyxl does not decode _xHHHH_ (LibreOffice and Excel do: see the LibreOffice test).
    text = "a\x00b\x1fc\tok\r\n_x0041_\ufffe"
    assert one_cell("code", text).value == "a_x0000_b_x001F_c\tok\r\n_x005F_x0041__xFFFE_"


def test_decimal_beyond_15_significant_digits_is_text():
    writer = XLSXWriter([Column("n", models_decimal(30, 10), "n")], vendor="sqlite")
    data = writer.begin() + writer.write_batch([(Decimal("12345.6789012345"),)])
    data += writer.write_batch([(Decimal("12345.67890123456"),), (Decimal("1E-10"),)])
    data += writer.end()
    ws = workbook(data).active
    assert [(c.value, c.data_type) for c in ws["A"]][1:] == [
        (12345.6789012345, "n"),
        ("12345.67890123456", "s"),
        (1e-10, "n"),
    ]
    assert ws["A2"].number_format == "0.0000000000"


def models_decimal(digits: int, places: int):
    from django.db import models

    field = models.DecimalField(max_digits=digits, decimal_places=places)
    field.set_attributes_from_name("n")
    return field


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 2, 2, 12, 45, 1, 37),
        dt.datetime(1900, 3, 1, 0, 0, 0, 1),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    ],
)
def test_datetime_serial_keeps_microseconds(settings, value):
    settings.USE_TZ = False
    serial = float(re.search(r"<v>([^<]+)</v>", sheet_xml(xlsx_bytes(["at"], [(value,)])))[1])
    micros = (value - dt.datetime(1899, 12, 30)) // dt.timedelta(microseconds=1)
    error = abs(Fraction(serial) - Fraction(micros, 86_400_000_000)) * 86_400_000_000
    # A double near 2958466 (9999-12-31) is exact to about 0.5e-9 days: 40 microseconds.
    assert error <= (1 if value.year < 3000 else 40)


def test_aware_datetimes_say_utc_in_the_header(settings):
    assert cells(xlsx_bytes(["at", "day"], []))[0] == ["at (UTC)", "day"]
    settings.USE_TZ = False
    data = xlsx_bytes(["at"], [(dt.datetime(2024, 1, 31, 13, 45),)])
    assert cells(data) == [["at"], [dt.datetime(2024, 1, 31, 13, 45)]]


def test_order_row_through_the_demo_model():
    fields = ["id", "status", "total_cents", "discount", "is_gift", "created_at", "reference"]
    row = (
        1,
        "paid",
        1250,
        Decimal("1.50"),
        True,
        dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
        uuid.UUID(int=1),
    )
    data = xlsx_bytes(fields, [row], model=Order)
    assert cells(data) == [
        ["id", "status", "total_cents", "discount", "is_gift", "created_at (UTC)", "reference"],
        [1, "paid", 1250, 1.5, True, dt.datetime(2024, 5, 1, 12), str(uuid.UUID(int=1))],
    ]


# Long cells --------------------------------------------------------------------------------


def test_cell_of_32767_characters_is_kept():
    text = "x" * 32_767
    assert one_cell("code", text).value == text


def test_longer_cell_is_cut_with_a_marker():
    text = "y" * 40_000
    marker = CUT_MARKER.format(length=40_000)
    value = one_cell("code", text).value
    assert marker == "…[cut: 40,000 characters]"
    assert value == "y" * (32_767 - len(marker)) + marker
    assert len(value) == 32_767


def test_cut_counts_utf16_units_as_excel_does():
    # Each emoji is two UTF-16 units: 20,000 of them are 40,000 units.
    text = "🎁" * 20_000
    value = one_cell("code", text).value
    marker = CUT_MARKER.format(length=20_000)
    assert value.endswith(marker)
    kept = value.removesuffix(marker)
    assert set(kept) == {"🎁"}
    assert len(value.encode("utf-16-le")) // 2 <= 32_767
    assert len(kept) == (32_767 - len(marker)) // 2


# Header, styles, widths --------------------------------------------------------------------


def test_header_is_bold_frozen_and_filtered():
    data = xlsx_bytes(["code", "quantity"], [("a", 1), ("b", 2)])
    ws = workbook(data).active
    assert [c.font.b for c in ws[1]] == [True, True]
    assert [c.font.b for c in ws[2]] == [False, False]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B3"


def test_column_widths_from_the_header():
    writer = xlsx_writer(["code", "at"], labels={"code": "A rather long column header"})
    ws = workbook(writer.begin() + writer.end()).active
    assert ws.column_dimensions["A"].width == pytest.approx(
        len("A rather long column header") * 1.1 + 2, abs=0.1
    )
    # "at (UTC)" is short: the width fits a datetime.
    assert ws.column_dimensions["B"].width == pytest.approx(21, abs=0.1)


def test_without_header():
    data = xlsx_bytes(["code"], [("a",), ("b",)], header=False)
    ws = workbook(data).active
    assert cells(data) == [["a"], ["b"]]
    assert ws.freeze_panes is None
    assert ws.auto_filter.ref is None


def test_empty_export_is_a_workbook_with_the_header():
    assert cells(xlsx_bytes(["code", "flag"], [])) == [["code", "flag"]]


def test_bom_and_formula_options_change_nothing():
    rows = [("=1+1",), ("@x",)]
    plain = xlsx_bytes(["code"], rows)
    assert xlsx_bytes(["code"], rows, bom=True, escape_formulas=True) == plain


# Sheet limits ------------------------------------------------------------------------------


def test_rows_continue_on_the_next_sheet(monkeypatch):
    monkeypatch.setattr(XLSXWriter, "max_rows", 4)  # a header and three rows per sheet
    rows = [(str(i), i) for i in range(8)]
    data = xlsx_bytes(["code", "quantity"], rows, batches=3)
    book = workbook(data)
    assert book.sheetnames == ["Sheet1", "Sheet2", "Sheet3"]
    assert [cells(data, n) for n in range(3)] == [
        [["code", "quantity"], ["0", 0], ["1", 1], ["2", 2]],
        [["code", "quantity"], ["3", 3], ["4", 4], ["5", 5]],
        [["code", "quantity"], ["6", 6], ["7", 7]],
    ]
    assert [ws.auto_filter.ref for ws in book.worksheets] == ["A1:B4", "A1:B4", "A1:B3"]
    assert [ws.freeze_panes for ws in book.worksheets] == ["A2"] * 3


def test_a_full_sheet_starts_no_empty_one(monkeypatch):
    monkeypatch.setattr(XLSXWriter, "max_rows", 3)
    data = xlsx_bytes(["quantity"], [(1,), (2,)])
    assert workbook(data).sheetnames == ["Sheet1"]


def test_without_header_a_sheet_holds_max_rows(monkeypatch):
    monkeypatch.setattr(XLSXWriter, "max_rows", 2)
    data = xlsx_bytes(["quantity"], [(1,), (2,), (3,)], header=False)
    assert [cells(data, 0), cells(data, 1)] == [[[1], [2]], [[3]]]


def test_a_sheet_ends_before_its_xml_reaches_the_zip32_limit(monkeypatch):
    # Scaled down: the sheet's head is about 800 bytes, each row about 60.
    monkeypatch.setattr(XLSXWriter, "max_sheet_bytes", 1200)
    rows = [(f"r{i:02d}", i) for i in range(20)]
    data = xlsx_bytes(["code", "quantity"], rows, batches=2)
    book = workbook(data)
    assert len(book.sheetnames) > 2
    found = [row[0] for ws in book.worksheets for row in ws.iter_rows(min_row=2, values_only=True)]
    assert found == [r[0] for r in rows]
    for number in range(1, len(book.sheetnames) + 1):
        assert len(sheet_xml(data, number).encode()) <= 1200 + 100  # the tail is not counted


def test_columns_beyond_16384_are_refused_before_any_byte():
    field = Reading._meta.get_field("code")
    columns = [Column("code", field, f"c{i}") for i in range(16_385)]
    with pytest.raises(ExportError) as excinfo:
        XLSXWriter(columns, vendor="sqlite")
    assert excinfo.value.args == (
        "An XLSX sheet holds at most 16,384 columns; this export has 16,385.",
    )
    XLSXWriter(columns[:16_384], vendor="sqlite")


# The ZIP, streamed -------------------------------------------------------------------------


def test_bytes_leave_with_every_batch():
    writer = xlsx_writer(["code", "quantity"])
    head = writer.begin()
    assert head.startswith(b"PK\x03\x04")
    batches = [writer.write_batch([(f"row {i}", i)]) for i in range(3)]
    tail = writer.end()
    assert all(batches), [len(b) for b in batches]
    # Each batch's bytes are complete deflate output (sync-flushed), not held back.
    data = head + b"".join(batches) + tail
    assert cells(data)[1:] == [["row 0", 0], ["row 1", 1], ["row 2", 2]]


def test_members_zip32_and_in_order():
    data = xlsx_bytes(["code"], [("a",)])
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "_rels/.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
    ]
    assert b"PK\x06\x06" not in data  # no Zip64 end of central directory
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())


def test_zip64_once_the_offset_passes_4_gib(monkeypatch):
    # Scaled down: members starting past the (lowered) limit are Zip64, the ones before not.
    monkeypatch.setattr(zippipe, "ZIP32_LIMIT", 2_000)
    monkeypatch.setattr(zippipe, "OFFSET_MARGIN", 0)
    data = xlsx_bytes(["code"], [(uuid.UUID(int=i).hex,) for i in range(400)], batches=4)
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    assert cells(data)[-1] == [uuid.UUID(int=399).hex]


def test_the_same_rows_give_the_same_bytes():
    # Fixed member times: no clock in the bytes.
    rows = [("a", 1), ("b", None)]
    assert xlsx_bytes(["code", "quantity"], rows) == xlsx_bytes(["code", "quantity"], rows)


def test_the_writer_can_run_again():
    writer = xlsx_writer(["code"])
    first = writer.begin() + writer.write_batch([("a",)]) + writer.end()
    second = writer.begin() + writer.write_batch([("a",)]) + writer.end()
    assert first == second


def test_workbook_lists_sheets_and_filter_names(monkeypatch):
    monkeypatch.setattr(XLSXWriter, "max_rows", 2)
    data = xlsx_bytes(["code"], [("a",), ("b",)])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    assert re.findall(r'<sheet name="([^"]+)"', xml) == ["Sheet1", "Sheet2"]
    assert re.findall(r"<definedName[^>]*>([^<]+)<", xml) == [
        "'Sheet1'!$A$1:$A$2",
        "'Sheet2'!$A$1:$A$2",
    ]


def test_zip_pipe_hands_over_each_push_at_once():
    # Pins what ZipPipe takes from stream-zip (its flush sentinel): each push comes out whole.
    pipe = zippipe.ZipPipe()
    head = pipe.start("a.txt", b"hello ")
    part = pipe.write(b"world")
    local_header = 30 + len("a.txt")  # no extra field: no extended timestamps
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress((head + part)[local_header:]) == (
        b"hello world"
    )
    tail = pipe.finish([("b.txt", b"!")])
    archive = zipfile.ZipFile(io.BytesIO(head + part + tail))
    assert [archive.read(name) for name in ("a.txt", "b.txt")] == [b"hello world", b"!"]
    assert pipe.offset == len(head + part + tail)


def test_zlib_when_isal_is_missing(monkeypatch):
    rows = [(f"row {i}", i) for i in range(50)]
    monkeypatch.setattr(zippipe, "deflate", zlib)
    monkeypatch.setattr(zippipe, "LEVEL", 3)
    data = xlsx_bytes(["code", "quantity"], rows, batches=3)
    assert cells(data)[1:] == [list(row) for row in rows]
