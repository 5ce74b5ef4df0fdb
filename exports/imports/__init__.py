"""Chunked imports: CSV, TSV and JSON Lines files of any size into a model, row by row checked.

The pipeline (no HTTP, admin or argparse here)::

    bytes source -> decoder -> reader (records with line numbers) -> binder (typed values or
    row errors) -> per-batch checks (foreign keys, unique values) -> loader (COPY, bulk_create,
    upsert or bulk_update) ; rejected rows -> reject file ; progress -> checkpoint

Use :func:`import_file`; it returns an :class:`ImportResult`.
"""

from .errors import ImportFileError, RowError
from .pipeline import ImportResult, Limits, import_file

__all__ = ["ImportFileError", "ImportResult", "Limits", "RowError", "import_file"]
