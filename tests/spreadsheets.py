"""LibreOffice as a real reader of downloads: which cells does a spreadsheet turn into formulas?

:func:`formula_cells` converts files to flat ODF (``.fods``) with ``soffice --headless``, reading
them as CSV with the given separator, UTF-8, and formulas evaluated (the CSV filter's last
option), then lists every cell that carries a ``table:formula`` attribute.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
SEPARATORS = {",": 44, ";": 59, "\t": 9}


def infilter(separator: str, *, trim_spaces: bool = False) -> str:
    """The CSV filter options: separator, ``"`` quotes, UTF-8 (76), from line 1, ..., evaluate."""
    trim = "true" if trim_spaces else "false"
    return f"CSV:{SEPARATORS[separator]},34,76,1,,0,false,false,false,false,{trim},-1,true"


def formula_cells(
    files: Mapping[str, bytes], workdir: Path, *, separator: str, trim_spaces: bool = False
) -> dict[str, list[tuple[int, str]]]:
    """``{name: [(row, formula), ...]}`` for every file read with ``separator``.

    One ``soffice`` run converts all the files; it gets its own profile (``HOME`` and
    ``UserInstallation``) in ``workdir`` so parallel runs never share a profile lock.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    inputs = []
    for name, data in files.items():
        path = workdir / f"{name}.csv"
        path.write_bytes(data)
        inputs.append(str(path))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{workdir}/profile",
            "--headless",
            f"--infilter={infilter(separator, trim_spaces=trim_spaces)}",
            "--convert-to",
            "fods",
            "--outdir",
            str(workdir / "out"),
            *inputs,
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(workdir)},
    )
    found = {}
    for name in files:
        converted = workdir / "out" / f"{name}.fods"
        assert converted.exists(), f"soffice did not convert {name}"
        found[name] = _formulas(converted)
    return found


def _formulas(path: Path) -> list[tuple[int, str]]:
    cells = []
    for row_number, row in enumerate(ET.parse(path).iter(f"{{{TABLE}}}table-row"), start=1):
        for cell in row.iter(f"{{{TABLE}}}table-cell"):
            formula = cell.get(f"{{{TABLE}}}formula")
            if formula is not None:
                cells.append((row_number, formula))
    return cells
