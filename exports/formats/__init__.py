"""The format registry: one module per format, looked up by name (like Django's serializers)."""

from __future__ import annotations

from ..errors import ExportError
from .base import Writer
from .csv import CSVWriter, TSVWriter
from .jsonl import JSONLinesWriter
from .reading import Reader, get_reader, reader_for_path, reader_names, register_reader
from .xlsx import XLSXWriter

UNKNOWN_FORMAT = 'Unknown format "{name}"; choose one of: {choices}.'

_REGISTRY: dict[str, type[Writer]] = {}


def register(writer: type[Writer]) -> type[Writer]:
    """Register a writer class under its ``name`` (usable as a class decorator)."""
    _REGISTRY[writer.name] = writer
    return writer


for _writer in (CSVWriter, TSVWriter, JSONLinesWriter, XLSXWriter):
    register(_writer)


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_writer_class(name: str) -> type[Writer]:
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise ExportError(UNKNOWN_FORMAT.format(name=name, choices=", ".join(_REGISTRY))) from None


def format_for_path(path: str) -> str | None:
    """The format a file name asks for (``orders.csv.gz`` -> ``csv``), or None."""
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for writer in _REGISTRY.values():
        if name.endswith("." + writer.extension):
            return writer.name
    return None


__all__ = [
    "Reader",
    "Writer",
    "format_for_path",
    "get_reader",
    "get_writer_class",
    "names",
    "reader_for_path",
    "reader_names",
    "register",
    "register_reader",
]
