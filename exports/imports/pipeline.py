"""The import pipeline: bytes source -> text -> records -> bound rows -> batches -> database.

:func:`import_file` is the one entry point for the command and the admin. Every stage is an
iterator; a batch of ``chunk_size`` rows is the most it holds. Transactions:

- ``on_error="abort"`` (default): one transaction around everything; every row is validated
  (and written, so later batches are checked against earlier ones), and if any row fails the
  transaction is rolled back: nothing is written.
- ``on_error="skip"``: one transaction per batch; bad rows are rejected, good rows committed,
  and a checkpoint is saved after each batch so ``resume=True`` can continue after a crash.
- ``dry_run=True``: as either, but the outer transaction is always rolled back. On SQLite,
  where a writer locks the whole file, each batch is rolled back at once instead and the keys
  later batches must see are carried (:mod:`exports.imports.carried`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from django.db import DEFAULT_DB_ALIAS, models

from .. import conf, formats
from ..formats.reading import Reader, Record
from . import checkpoint as checkpoints
from .binder import Binder
from .errors import (
    BAD_CHUNK_SIZE,
    BAD_MAX_ERRORS,
    BAD_MODE,
    BAD_ON_ERROR,
    RESUME_NEEDS_PATH,
    RESUME_NEEDS_SKIP,
    TOO_MANY_ROWS,
    ImportFileError,
    RowError,
)
from .loaders import Loader
from .plan import MODES, build_plan
from .rejects import RejectWriter
from .run import BatchRunner
from .sources import fingerprint, iter_text, open_source
from .strategy import choose_write_strategy
from .transactions import last_logged_query

logger = logging.getLogger(__name__)

ON_ERROR = ("abort", "skip")


@dataclass(frozen=True)
class Limits:
    max_field: int
    max_columns: int
    max_line: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_field=conf.get("IMPORT_MAX_FIELD_SIZE"),
            max_columns=conf.get("IMPORT_MAX_COLUMNS"),
            max_line=conf.get("IMPORT_MAX_LINE_LENGTH"),
        )


@dataclass
class ImportResult:
    """What an import did. ``complete`` is True only when every row was imported (validated)."""

    model: str
    mode: str
    on_error: str
    dry_run: bool
    source: str = ""
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    resumed_after: int = 0  # records skipped because an earlier run committed them
    committed: bool = False  # whether this run's writes are in the database
    stopped: str = ""  # why the import stopped early (max errors, a file error), or ""
    file_error: bool = False  # stopped by the file itself (an undecodable byte on line N)
    errors_path: str | None = None
    checkpoint_path: str | None = None
    seconds: float = 0.0
    first_errors: list[RowError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.rejected == 0 and not self.stopped

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def import_file(
    *,
    model: type[models.Model],
    source: str | os.PathLike[str] | BinaryIO,
    format: str = "csv",  # noqa: A002  (the public name users know)
    mode: str = "create",
    key: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    chunk_size: int | None = None,
    on_error: str = "abort",
    errors_path: str | os.PathLike[str] | None = None,
    max_errors: int | None = None,
    dry_run: bool = False,
    resume: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    null: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
    allowed_fields: Sequence[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
    keep_errors: int = 0,
    keep_preview: int = 0,
    max_rows: int | None = None,
    max_decompressed_size: int | None = None,
    max_rejects_size: int | None = None,
) -> ImportResult:
    """Import ``source`` into ``model``; see the module docstring for the transaction rules.

    Raises :class:`ImportFileError` for problems found before any row is written (options,
    the file's first bytes, its header, a checkpoint for another file). Problems found later
    (an undecodable byte on line 812,113) end the import with ``result.stopped`` set, and
    the result says what was committed.

    Bounds for callers that serve untrusted uploads (the admin; ``importdata`` sets none):
    ``max_rows`` records read (blank lines too), ``max_decompressed_size`` bytes out of a gzip
    input, ``max_rejects_size`` bytes of reject file. Past one, the import stops (as for an
    undecodable byte) with a message naming the setting.
    """
    limits = Limits.from_settings()
    reader = _check_options(
        format=format,
        mode=mode,
        on_error=on_error,
        chunk_size=chunk_size,
        max_errors=max_errors,
        delimiter=delimiter,
        null=null,
        max_line=limits.max_line,
    )
    chunk_size = chunk_size or conf.get("CHUNK_SIZE")
    label = model._meta.label
    result = ImportResult(model=label, mode=mode, on_error=on_error, dry_run=dry_run)
    errors_path = os.fspath(errors_path) if errors_path is not None else None
    saving = on_error == "skip" and not dry_run and errors_path is not None
    checkpoint = None
    if resume:
        if on_error != "skip":
            raise ImportFileError(RESUME_NEEDS_SKIP)
        if not isinstance(source, str | os.PathLike) or errors_path is None:
            raise ImportFileError(RESUME_NEEDS_PATH)
    if saving and errors_path and isinstance(source, str | os.PathLike) and os.path.isfile(source):
        result.checkpoint_path = checkpoints.checkpoint_path(errors_path)
        size, sha256 = fingerprint(source)
        resumed = checkpoints.load(result.checkpoint_path) if resume else None
        if resumed is not None:
            checkpoints.check_matches(
                resumed,
                path=result.checkpoint_path,
                size=size,
                sha256=sha256,
                model=label,
                mode=mode,
            )
        checkpoint = checkpoints.CheckpointFile(result.checkpoint_path, size, sha256, resumed)
    resume_from = checkpoint.resumed if checkpoint else None
    started = time.monotonic()
    with open_source(
        source,
        encoding=encoding,
        format_name=reader.name,
        empty_ok=reader.empty_ok,
        max_decompressed=max_decompressed_size,
    ) as opened:
        result.source = opened.name
        table = reader.read(iter_text(opened.iter_bytes(), encoding=encoding))
        if table is None:
            result.seconds = time.monotonic() - started
            return result
        names = table.columns
        records = table.records
        plan = build_plan(
            model,
            names,
            mode=mode,
            key=key,
            mapping=mapping,
            allowed=allowed_fields,
            max_columns=limits.max_columns,
        )
        result.columns = [t.name for t in plan.targets]
        log_mark = last_logged_query(using)  # the strategy's introspection is the import's
        strategy = choose_write_strategy(
            plan,
            using=using,
            text_values=reader.values == "text",
            on_error=on_error,
            dry_run=dry_run,
            max_errors=max_errors,
        )
        binder = Binder(
            plan,
            values=reader.values,
            max_field=limits.max_field,
            using=using,
            json_text=strategy.json_text,
        )
        if max_rows is not None:
            records = _at_most(records, max_rows)
        rejects = RejectWriter(
            errors_path, append=resume_from is not None, max_bytes=max_rejects_size
        )
        if resume_from is not None:
            rejects.truncate(resume_from.rejects_bytes)
            result.resumed_after = resume_from.records
            records = _skip(records, resume_from.records)
        run = BatchRunner(
            plan=plan,
            strategy=strategy,
            binder=binder,
            loader=Loader(plan, using=using, strategy=strategy),
            rejects=rejects,
            result=result,
            using=using,
            chunk_size=chunk_size,
            max_errors=max_errors,
            keep_errors=keep_errors,
            keep_preview=keep_preview,
            progress=(lambda: on_progress(opened.counter.bytes_read)) if on_progress else None,
            checkpoint=checkpoint,
            log_mark=log_mark,
        )
        try:
            run.execute(records, dry_run=dry_run)
        finally:
            rejects.close()
    result.seconds = time.monotonic() - started
    if rejects.written:
        result.errors_path = errors_path
    if result.checkpoint_path and not result.stopped:
        # The whole file was read: there is nothing left to resume.
        checkpoints.remove(result.checkpoint_path)
    logger.info(
        "imported %s: %s rows read, %s created, %s updated, %s rejected in %.2f s",
        label,
        result.rows_read,
        result.created,
        result.updated,
        result.rejected,
        result.seconds,
    )
    return result


def _check_options(
    *,
    format: str,  # noqa: A002
    mode: str,
    on_error: str,
    chunk_size: int | None,
    max_errors: int | None,
    delimiter: str | None,
    null: str | None,
    max_line: int,
) -> Reader:
    format = format.lower()
    if format not in formats.reader_names():
        choices = ", ".join(formats.reader_names())
        raise ImportFileError(formats.UNKNOWN_FORMAT.format(name=format, choices=choices))
    if mode not in MODES:
        raise ImportFileError(BAD_MODE.format(mode=mode))
    if on_error not in ON_ERROR:
        raise ImportFileError(BAD_ON_ERROR.format(value=on_error))
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ImportFileError(BAD_CHUNK_SIZE.format(value=chunk_size))
    if max_errors is not None and (
        isinstance(max_errors, bool) or not isinstance(max_errors, int) or max_errors < 1
    ):
        raise ImportFileError(BAD_MAX_ERRORS.format(value=max_errors))
    return formats.get_reader(format)(delimiter=delimiter, null=null, max_line=max_line)


def _at_most(records: Iterator[Record], limit: int) -> Iterator[Record]:
    """The records, or TOO_MANY_ROWS on the one after the ``limit``-th."""
    yield from islice(records, limit)
    if next(records, None) is not None:
        raise ImportFileError(TOO_MANY_ROWS.format(limit=limit))


def _skip(records: Iterator[Record], count: int) -> Iterator[Record]:
    for _ in islice(records, count):
        pass
    return records
