"""The writer interface: a batch of database rows in, one bytes chunk out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import F, TextField
from django.db.models.functions import Cast

from ..columns import Column
from ..errors import ExportError
from ..kinds import Kind, kind_of

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Slot:
    """``width`` selected values per row, which ``render`` turns (a batch's column of each)
    into the cells of the batch, one text per row."""

    width: int
    render: Callable[..., list[str]]


def raw_expression(column: Column) -> Any:
    """What the Python engines select for a column formatted in Python: the value itself, JSON
    as the database's own text (which the formatters canonicalise)."""
    if kind_of(column.field) is Kind.JSON:
        return Cast(F(column.path), TextField())
    return F(column.path)


def value_converters(column: Column, connection: Any) -> Callable[[Any], Any]:
    """Turn a value as the database driver returns it into the column's Python value, with the
    converters Django's compiler would apply (the backend's, then the field's)."""
    # As Django builds the column: a foreign key's output field is the field it refers to,
    # whose converters apply (a UUID key's, a date key's).
    expression = column.field.get_col(None)  # type: ignore[arg-type]  # never compiled
    functions = [
        *connection.ops.get_db_converters(expression),
        *expression.get_db_converters(connection),
    ]

    def convert(value: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value

    return convert


class Writer:
    """Turns batches of rows (tuples of database values, one per column) into bytes.

    Subclasses declare their ``name``, ``verbose_name``, ``media_type``, ``extension`` and
    ``charset`` (like DRF renderers) and implement :meth:`header` and :meth:`write_batch`.
    """

    name: ClassVar[str]
    #: What people call the format (admin action labels): "CSV", "JSON Lines".
    verbose_name: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]
    charset: ClassVar[str] = "utf-8"
    #: The delimiter PostgreSQL's COPY ... (FORMAT csv) must use to produce this format's
    #: bytes, or None when COPY cannot produce it.
    copy_delimiter: str | None = None
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

    def select(self, connection: Any) -> list[Any]:  # noqa: ARG002  (subclasses use it)
        """The expressions the Python engines select (``values_list``) on ``connection``;
        :meth:`write_batch` then takes rows of their values. By default each column's value,
        formatted in Python; a writer may have the database print some of them (CSV does)."""
        return [raw_expression(column) for column in self.columns]

    def write_batch(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        raise NotImplementedError

    def end(self) -> bytes:
        """Bytes that close the file after the last batch (XLSX: the ZIP's central directory)."""
        return b""
