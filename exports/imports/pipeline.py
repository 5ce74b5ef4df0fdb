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

import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction

from .. import conf, formats
from ..formats.reading import Reader, Record
from . import checkpoint as checkpoints
from .binder import Binder
from .carried import CarriedKeys
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
from .integrity import (
    Row,
    SeenKeys,
    check_batch_duplicates,
    check_existing_for_create,
    match_keys,
    resolve_foreign_keys,
)
from .loaders import Loader
from .plan import MODES, build_plan
from .rejects import RejectWriter
from .sources import fingerprint, iter_text, open_source

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
    resume_from = None
    fp = None
    if resume:
        if on_error != "skip":
            raise ImportFileError(RESUME_NEEDS_SKIP)
        if not isinstance(source, str | os.PathLike) or errors_path is None:
            raise ImportFileError(RESUME_NEEDS_PATH)
    if saving and isinstance(source, str | os.PathLike) and os.path.isfile(source):
        result.checkpoint_path = checkpoints.checkpoint_path(errors_path)
        fp = fingerprint(source)
        if resume:
            resume_from = checkpoints.load(result.checkpoint_path)
            if resume_from is not None:
                checkpoints.check_matches(
                    resume_from,
                    path=result.checkpoint_path,
                    size=fp[0],
                    sha256=fp[1],
                    model=label,
                    mode=mode,
                )
    started = time.monotonic()
    with (
        fewer_collections(),
        open_source(
            source,
            encoding=encoding,
            format_name=reader.name,
            empty_ok=reader.empty_ok,
            max_decompressed=max_decompressed_size,
        ) as opened,
    ):
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
        loader = Loader(plan, using=using, json_text=reader.values == "text")
        binder = Binder(
            plan,
            values=reader.values,
            max_field=limits.max_field,
            using=using,
            json_text=loader.json_text,
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
        run = _Run(
            plan=plan,
            binder=binder,
            loader=loader,
            rejects=rejects,
            result=result,
            using=using,
            chunk_size=chunk_size,
            max_errors=max_errors,
            keep_errors=keep_errors,
            keep_preview=keep_preview,
            progress=(lambda: on_progress(opened.counter.bytes_read)) if on_progress else None,
            checkpoint=(result.checkpoint_path, fp, resume_from) if fp else None,
        )
        try:
            run.execute(records, atomic=on_error == "abort" or dry_run, dry_run=dry_run)
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


# The cyclic garbage collector's first-generation threshold while imports run. An import
# allocates a few container objects per value and keeps a batch of them alive, so at
# Python's default (700) the collector walks the live batch every few rows: a sixth of the
# time of a million-row import. Reference counting still frees every row as usual; only
# the search for cycles runs less often.
GC_THRESHOLD = 20_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise gc's first threshold to GC_THRESHOLD while at least one import runs."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] and _gc_saved[0] < GC_THRESHOLD:  # 0: the caller disabled it
                gc.set_threshold(GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


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


class _Run:
    """One execution: batches through binder, checks and loader, with the counts."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)
        self.records_done = (
            self.checkpoint[2].records if self.checkpoint and self.checkpoint[2] else 0
        )
        self.seen = SeenKeys(self.plan, using=self.using) if self.plan.mode != "create" else None
        self.connection = connections[self.using]
        self._sequence_hook = False
        self.rollback_each = False
        self.carried: CarriedKeys | None = None
        self._written: list[Row] = []

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """``transaction.atomic``; on SQLite, when it is the outermost, begun IMMEDIATE.

        A deferred BEGIN reads first (the key lookups) and asks for the write lock after. If
        another connection commits in between, SQLite ends that deadlock by failing this
        one at once ("database is locked"), and the batch's rows were rejected for it.
        IMMEDIATE waits for the lock (the busy timeout) before the first read instead.
        """
        connection = self.connection
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            with transaction.atomic(using=self.using):
                yield
            return
        # ``transaction_mode`` exists only once connected, and connecting resets it from
        # OPTIONS: connect first (a fresh ``importdata`` process has no connection yet).
        connection.ensure_connection()
        with contextlib.ExitStack() as stack:
            saved, connection.transaction_mode = connection.transaction_mode, "IMMEDIATE"
            try:
                stack.enter_context(transaction.atomic(using=self.using))  # BEGIN IMMEDIATE
            finally:
                connection.transaction_mode = saved
            yield

    def _move_sequence_after_commit(self) -> None:
        """Have the id sequence moved past the file's ids when the rows are committed.

        Never before: ``setval`` survives a rollback (a dry run, all-or-nothing with a bad
        row). One hook per transaction: skip mode's batches each commit theirs.
        """
        if self._sequence_hook or not self.loader.moves_sequence:
            return
        self._sequence_hook = True

        def move() -> None:
            self._sequence_hook = False
            self.loader.reset_sequence()

        transaction.on_commit(move, using=self.using)

    def execute(self, records: Iterator[Record], *, atomic: bool, dry_run: bool) -> None:
        result = self.result
        # A dry run on SQLite rolls each batch back at once, holding no lock between batches
        # (see exports.imports.carried); the keys the next batches must see are carried.
        self.rollback_each = dry_run and self.connection.vendor == "sqlite"
        if self.rollback_each:
            atomic = False
            self.carried = CarriedKeys(self.plan, using=self.using)
        outer = self._transaction() if atomic else contextlib.nullcontext()
        try:
            with outer:
                if self.seen is not None:
                    self.seen.create()
                if self.carried is not None:
                    self.carried.create()
                try:
                    self._batches(records, commit_each=not atomic and not self.rollback_each)
                except ImportFileError as exc:
                    result.stopped = str(exc)
                    result.file_error = True
                if atomic:
                    if dry_run or not result.complete:
                        transaction.set_rollback(True, using=self.using)
                    else:
                        result.committed = True
        finally:
            if self.seen is not None:
                self.seen.drop()
            if self.carried is not None:
                self.carried.drop()

    def _batches(self, records: Iterator[Record], *, commit_each: bool) -> None:
        if self.loader.can_stream and not commit_each and self.max_errors is None:
            self._overlapped_batches(records)
            return
        result = self.result
        while True:
            batch = self._next_batch(records)
            if batch is None:
                return
            with self._transaction():
                created, updated, last_line, done = self._batch(batch)
                if created:
                    self._move_sequence_after_commit()
                if self.rollback_each:
                    transaction.set_rollback(True, using=self.using)
            if self.rollback_each:
                self.carried.add(self._written)
                if self.seen is not None:
                    self.seen.add_again()
            result.created += created
            result.updated += updated
            if commit_each and (created or updated):
                result.committed = True
            self.records_done += done
            self.rejects.flush()
            if commit_each and self.checkpoint and batch:
                path, (size, sha), _ = self.checkpoint
                checkpoints.save(
                    path,
                    checkpoints.Checkpoint(
                        size=size,
                        sha256=sha,
                        model=result.model,
                        mode=result.mode,
                        records=self.records_done,
                        line=last_line,
                        created=result.created,
                        updated=result.updated,
                        rejected=result.rejected,
                        rejects_bytes=self.rejects.size(),
                    ),
                )
            self._forget_queries()
            if self.progress is not None:
                self.progress()
            if self.max_errors is not None and result.rejected >= self.max_errors:
                result.stopped = f"stopped after {result.rejected:,} rejected rows (max errors)"
                return

    def _next_batch(self, records: Iterator[Record]) -> list[Record] | None:
        """The next ``chunk_size`` records (blank lines of a multi-column file dropped)."""
        batch = list(islice(records, self.chunk_size))
        if not batch:
            return None
        if self.plan.width > 1:
            batch = [r for r in batch if r.raw or r.error or r.values != [None]]
        return batch

    def _overlapped_batches(self, records: Iterator[Record]) -> None:
        """All-or-nothing create on PostgreSQL: bind batch N+1 while PostgreSQL inserts batch N.

        Each batch's COPY runs in a worker thread, on this connection, in a savepoint, while
        this thread reads and binds the next batch, which needs no database. The COPY's end
        (PostgreSQL's foreign-key checks and the last rows) then costs no wall time. Only
        this thread touches the connection between two COPYs: it waits for the worker before
        settling a batch (releasing its savepoint, or rolling back to it and checking the
        rows itself) and before starting the next. Not used with checkpoints (skip mode),
        whose reject-file offsets must not include the next batch's rejects, nor with
        ``max_errors``, whose count must include the batch in flight.
        """
        connection = self.loader.connection
        pending: tuple[Future, Any, list[Row]] | None = None
        connection.inc_thread_sharing()
        try:
            with (
                self.loader.immediate_foreign_keys(),
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="exports-copy") as pool,
            ):
                try:
                    while True:
                        batch = self._next_batch(records)
                        rows: list[Row] = []
                        tally = [0]
                        for _ in self._bind(batch or [], rows, tally):
                            pass
                        self.records_done += tally[0]
                        if pending is not None:
                            self._settle(*pending)
                            pending = None
                        if batch is None:
                            return
                        savepoint = transaction.savepoint(using=self.using)
                        copy = pool.submit(self.loader.stream, rows)
                        pending = (copy, savepoint, rows)
                except ImportFileError:
                    if pending is not None:
                        self._settle(*pending)
                    raise
                except BaseException:
                    if pending is not None:
                        pending[0].exception()  # never leave a COPY running on the connection
                    raise
        finally:
            connection.dec_thread_sharing()

    def _settle(self, future: Future, savepoint: Any, rows: list[Row]) -> None:
        """Wait for a batch's COPY; keep it, or roll it back and check and write it here."""
        try:
            created = future.result()
        except DatabaseError:
            transaction.savepoint_rollback(savepoint, using=self.using)
            created, _updated = self._check_and_write(rows)
        else:
            transaction.savepoint_commit(savepoint, using=self.using)
            self._keep_preview(rows)
        if created:
            self._move_sequence_after_commit()
        self.result.created += created
        self.rejects.flush()
        self._forget_queries()
        if self.progress is not None:
            self.progress()

    def _batch(self, batch: list[Record]) -> tuple[int, int, int, int]:
        """Bind, check and write one batch: (created, updated, last line, records done)."""
        rows: list[Row] = []
        tally = [0]  # records taken from the batch (fewer when max errors stops it)
        bound = self._bind(batch, rows, tally)
        created = updated = 0
        if self.loader.can_stream:
            # Optimistic: write the rows as they are bound and let PostgreSQL check the keys.
            # If it refuses, roll back to the savepoint and check them here, as below.
            try:
                with transaction.atomic(using=self.using):
                    created = self.loader.stream(bound)
            except DatabaseError:
                created = 0
                for _ in bound:  # bind what the failed COPY left
                    pass
            else:
                self._keep_preview(rows)
                return created, 0, self._last_line(batch, tally[0]), tally[0]
        else:
            for _ in bound:
                pass
        created, updated = self._check_and_write(rows)
        return created, updated, self._last_line(batch, tally[0]), tally[0]

    def _check_and_write(self, rows: list[Row]) -> tuple[int, int]:
        """Check bound rows against the database, reject the bad ones, write the rest."""
        with self._index_lookups():
            self._check(rows)
        good = [r for r in rows if not r.errors]
        for row in rows:
            if row.errors:
                self._reject(row.raw, row.errors)
        created, updated = self.loader.write(good)
        for row in good:
            if row.errors:  # refused by the database
                self._reject(row.raw, row.errors)
        self._written = [r for r in good if not r.errors]
        self._keep_preview(self._written)
        return created, updated

    def _bind(self, batch: list[Record], rows: list[Row], tally: list[int]) -> Iterator[Row]:
        """Bind the batch's records, rejecting the bad ones; yield (and keep) the good rows."""
        result = self.result
        bind = self.binder.bind
        limit = self.max_errors
        for record in batch:
            if limit is not None and result.rejected >= limit:
                return
            tally[0] += 1
            result.rows_read += 1
            if record.error:
                self._reject(record.raw, [RowError(record.line, "", record.error)])
                continue
            values, errors = bind(record)
            if errors:
                self._reject(record.raw, errors)
                continue
            row = Row(record.line, record.raw, values)
            rows.append(row)
            yield row

    @staticmethod
    def _last_line(batch: list[Record], done: int) -> int:
        return batch[done - 1].line if done else 0

    def _keep_preview(self, rows: list[Row]) -> None:
        preview = self.result.preview
        room = self.keep_preview - len(preview)
        for row in rows[: max(room, 0)]:
            preview.append(dict(zip(self.result.columns, row.values, strict=True)))

    def _check(self, rows: list[Row]) -> None:
        plan = self.plan
        resolve_foreign_keys(plan, rows, using=self.using, carried=self.carried)
        check_batch_duplicates(plan, rows)
        if plan.mode == "create":
            check_existing_for_create(plan, rows, using=self.using, carried=self.carried)
        else:
            match_keys(plan, rows, using=self.using)
            self.seen.check_and_add(rows)

    @contextlib.contextmanager
    def _index_lookups(self) -> Iterator[None]:
        """On PostgreSQL, make the per-batch key lookups use their unique indexes.

        A table that was empty when last analysed (a fresh import) would otherwise be scanned
        whole once per batch: quadratic. SET LOCAL keeps it to this transaction; RESET after
        the lookups keeps it from the caller's own queries.
        """
        if self.connection.vendor != "postgresql":
            yield
            return
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            yield
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")

    def _reject(self, raw: str, errors: list[RowError]) -> None:
        self.result.rejected += 1
        self.rejects.write(errors, raw)
        room = self.keep_errors - len(self.result.first_errors)
        if room > 0:
            self.result.first_errors.extend(errors[:room])

    def _forget_queries(self) -> None:
        # With DEBUG=True Django keeps the SQL of the last 9,000 queries, and one bulk insert's
        # SQL is megabytes. Not inside CaptureQueriesContext (force_debug_cursor): that counts.
        connection = self.connection
        if connection.queries_logged and not connection.force_debug_cursor:
            connection.queries_log.clear()
