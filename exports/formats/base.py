"""The writer interface: a batch of database rows in, one bytes chunk out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..columns import Column
from ..errors import ExportError

UTF8_BOM = b"\xef\xbb\xbf"


class Writer:
    """Turns batches of rows (tuples of database values, one per column) into bytes.

    Subclasses declare their ``name``, ``media_type``, ``extension`` and ``charset``
    (like DRF renderers) and implement :meth:`header` and :meth:`write_batch`.
    """

    name: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]
    charset: ClassVar[str] = "utf-8"
    #: The delimiter PostgreSQL's COPY ... (FORMAT csv) must use to produce this format's
    #: bytes, or None when COPY cannot produce it.
    copy_delimiter: ClassVar[str | None] = None
    #: True when the copy engine builds each whole line in SQL instead (JSON Lines).
    copy_lines: ClassVar[bool] = False

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        vendor: str,
        header: bool = True,
        delimiter: str | None = None,
        bom: bool = False,
        escape_formulas: bool = False,
    ) -> None:
        if delimiter is not None:
            raise ExportError(f"The {self.name} format has no delimiter option.")
        self.columns = tuple(columns)
        self.vendor = vendor
        self.header_enabled = header
        self.bom = bom
        self.escape_formulas = escape_formulas

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset={self.charset}"

    def begin(self) -> bytes:
        """Bytes that open the file: the optional BOM and the header line."""
        return (UTF8_BOM if self.bom else b"") + (self.header() if self.header_enabled else b"")

    def header(self) -> bytes:
        return b""

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        raise NotImplementedError

    def end(self) -> bytes:
        """Bytes that close the file after the last batch (XLSX: the ZIP's central directory)."""
        return b""
