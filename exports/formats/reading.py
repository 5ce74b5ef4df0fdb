"""The reader interface and registry: decoded text in, a header and records out.

A reader is the import twin of a :class:`~exports.formats.base.Writer`: one class per format,
looked up by name (:func:`get_reader`). Built-in readers are registered by dotted path and
imported on first use, as Django's serializers are: their modules use the import pipeline's
messages, and the pipeline looks readers up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from django.utils.module_loading import import_string

from ..errors import ExportError


class Record(NamedTuple):
    """One record: its first physical line, its values (None if unreadable), its text.

    ``values`` is a list with one value per header column (``str`` or None for NULL from a
    text format; any JSON value from JSON Lines), or None when ``error`` says why the record
    could not be read.
    """

    line: int
    values: Any
    raw: str
    error: str | None = None


@dataclass
class Table:
    """What a reader found in a file: the header's column names, then the data records."""

    columns: list[str]
    records: Iterator[Record]


class Reader:
    """Turns decoded text into a :class:`Table`.

    Subclasses declare their ``name`` and ``extension``, ``values`` (``"text"`` when every
    value is a string or None, which the binder parses as the canonical text forms; ``"json"``
    when values are already typed JSON values) and ``empty_ok`` (a file with no bytes at all
    is an empty table rather than an error), and implement :meth:`read`. The constructor
    checks the options (raising ``ImportFileError``) and stores them; it reads nothing.
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    values: ClassVar[str] = "text"
    empty_ok: ClassVar[bool] = False

    def __init__(self, *, delimiter: str | None, null: str | None, max_line: int) -> None:
        self.max_line = max_line

    def read(self, texts: Iterator[str]) -> Table | None:
        """The header and the records of ``texts``; None for an empty file when ``empty_ok``."""
        raise NotImplementedError


BUILTIN_READERS = {
    "csv": "exports.formats.csv_reader.CSVReader",
    "tsv": "exports.formats.csv_reader.TSVReader",
    "jsonl": "exports.formats.jsonl_reader.JSONLinesReader",
}
_READERS: dict[str, type[Reader] | str] = dict(BUILTIN_READERS)


def register_reader(reader: type[Reader] | str, name: str | None = None) -> None:
    """Register a reader class (or its dotted path, imported on first use) under its name."""
    if name is None:
        if isinstance(reader, str):
            raise TypeError("a reader given by dotted path needs a name")
        name = reader.name
    _READERS[name] = reader


def reader_names() -> tuple[str, ...]:
    return tuple(_READERS)


def get_reader(name: str) -> type[Reader]:
    """The reader class registered as ``name`` (case-insensitive), or ExportError."""
    from . import UNKNOWN_FORMAT

    key = name.lower()
    try:
        reader = _READERS[key]
    except KeyError:
        choices = ", ".join(_READERS)
        raise ExportError(UNKNOWN_FORMAT.format(name=name, choices=choices)) from None
    if isinstance(reader, str):
        reader = _READERS[key] = import_string(reader)
    return reader


def reader_for_path(path: str) -> str | None:
    """The input format a file name asks for (``orders.jsonl.gz`` -> ``jsonl``), or None."""
    name = path.lower().removesuffix(".gz")
    for key in _READERS:
        if name.endswith("." + get_reader(key).extension):
            return key
    return None
