"""The fixed parts of an XLSX package (SpreadsheetML, ECMA-376) the streamed writer needs.

Only what Excel and LibreOffice require: the package and workbook relationships, content types,
the workbook (sheet list, autofilter ranges), a style sheet, and each worksheet's opening and
closing XML around its rows. Parts that list the sheets are written last, when their number
is known; the order of members in a ZIP does not matter to readers (openpyxl writes
``[Content_Types].xml`` last too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# Built-in number format 1 is "0": whole numbers in full, never 1.23457E+11.
INTEGER_FORMAT = 1
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
# Spreadsheets show at most milliseconds; values keep what a double holds (about 1 µs today).
DATETIME_MS_FORMAT = "yyyy-mm-dd hh:mm:ss.000"
TIME_MS_FORMAT = "hh:mm:ss.000"

ROOT_RELS = (
    DECLARATION + f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
).encode()


def column_letters(index: int) -> str:
    """``0`` -> ``A``, ``25`` -> ``Z``, ``26`` -> ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Styles:
    """The cell formats (``cellXfs``) the writer uses, by index: 0 is the default."""

    decimal_scales: tuple[int, ...]

    HEADER = 1
    DATE = 2
    DATETIME = 3
    TIME = 4
    INTEGER = 5
    DATETIME_MS = 6
    TIME_MS = 7
    _FIXED = 8

    def decimal(self, scale: int) -> int:
        """The style showing a decimal with ``scale`` places (``12.30`` stays ``12.30``)."""
        return self._FIXED + self.decimal_scales.index(scale)

    def xml(self) -> bytes:
        custom = [DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT, DATETIME_MS_FORMAT, TIME_MS_FORMAT] + [
            "0." + "0" * scale for scale in self.decimal_scales if scale > 0
        ]
        ids = {code: 164 + i for i, code in enumerate(custom)}
        formats = "".join(
            f'<numFmt numFmtId="{number}" formatCode={quoteattr(code)}/>'
            for code, number in ids.items()
        )
        xf = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{}/>'
        number_format = ' applyNumberFormat="1"'
        cells = [
            xf.format(0, 0, ""),
            xf.format(0, 1, ' applyFont="1"'),
            xf.format(ids[DATE_FORMAT], 0, number_format),
            xf.format(ids[DATETIME_FORMAT], 0, number_format),
            xf.format(ids[TIME_FORMAT], 0, number_format),
            xf.format(INTEGER_FORMAT, 0, number_format),
            xf.format(ids[DATETIME_MS_FORMAT], 0, number_format),
            xf.format(ids[TIME_MS_FORMAT], 0, number_format),
        ] + [
            xf.format(ids["0." + "0" * scale] if scale > 0 else INTEGER_FORMAT, 0, number_format)
            for scale in self.decimal_scales
        ]
        font = '<font>{}<sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        return (
            DECLARATION + f'<styleSheet xmlns="{MAIN}">'
            f'<numFmts count="{len(ids)}">{formats}</numFmts>'
            f'<fonts count="2">{font.format("")}{font.format("<b/>")}</fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(cells)}">{"".join(cells)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ).encode()


def sheet_head(widths: Sequence[float], *, frozen_header: bool) -> bytes:
    """A worksheet up to its first row: the frozen header pane and the column widths."""
    if frozen_header:
        view = (
            '<sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
        )
    else:
        view = '<sheetView workbookViewId="0"/>'
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width:.1f}" customWidth="1"/>'
        for i, width in enumerate(widths, start=1)
    )
    return (
        DECLARATION + f'<worksheet xmlns="{MAIN}" xmlns:r="{DOC_REL}">'
        f"<sheetViews>{view}</sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols><sheetData>"
    ).encode()


def filter_range(columns: int, rows: int) -> str:
    return f"A1:{column_letters(columns - 1)}{max(rows, 1)}"


def sheet_tail(*, columns: int, rows: int, autofilter: bool) -> bytes:
    """The end of a worksheet of ``rows`` rows (header included): the header's autofilter."""
    found = f'<autoFilter ref="{filter_range(columns, rows)}"/>' if autofilter else ""
    return f"</sheetData>{found}</worksheet>".encode()


def sheet_part(number: int) -> str:
    return f"xl/worksheets/sheet{number}.xml"


def closing_parts(
    names: Sequence[str], rows: Sequence[int], *, columns: int, autofilter: bool
) -> list[tuple[str, bytes]]:
    """The parts that list the sheets: the workbook, its relationships, the content types."""
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    defined = ""
    if autofilter:
        absolute = "$A$1:${}${}"
        defined = (
            "<definedNames>"
            + "".join(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                + escape(f"'{name}'!" + absolute.format(column_letters(columns - 1), max(n, 1)))
                + "</definedName>"
                for i, (name, n) in enumerate(zip(names, rows, strict=True))
            )
            + "</definedNames>"
        )
    workbook = (
        DECLARATION + f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}">'
        '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{sheets}</sheets>{defined}</workbook>"
    ).encode()
    relationship = '<Relationship Id="rId{}" Type="{}/{}" Target="{}"/>'
    rels = (
        DECLARATION
        + f'<Relationships xmlns="{PKG_REL}">'
        + "".join(
            relationship.format(i, DOC_REL, "worksheet", f"worksheets/sheet{i}.xml")
            for i in range(1, len(names) + 1)
        )
        + relationship.format(len(names) + 1, DOC_REL, "styles", "styles.xml")
        + "</Relationships>"
    ).encode()
    override = '<Override PartName="/{}" ContentType="{}"/>'
    types = (
        DECLARATION + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        + override.format("xl/workbook.xml", f"{CT}.sheet.main+xml")
        + override.format("xl/styles.xml", f"{CT}.styles+xml")
        + "".join(
            override.format(sheet_part(i), f"{CT}.worksheet+xml") for i in range(1, len(names) + 1)
        )
        + "</Types>"
    ).encode()
    return [
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels),
        ("[Content_Types].xml", types),
    ]
