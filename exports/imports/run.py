"""Running an import: batches of records through the binder, the checks and the loader.

:class:`BatchRunner` follows a :class:`~exports.imports.strategy.WriteStrategy`; it owns the
counts (in the :class:`~exports.imports.pipeline.ImportResult`), the reject file's rows and
the checkpoints, and never holds more than a batch (two while streaming overlaps binding).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections, transaction

from ..formats.reading import Record
from . import checkpoint as checkpoints
from .binder import Binder
from .carried import CarriedKeys
from .errors import ImportFileError, RowError
from .integrity import (
    Row,
    SeenKeys,
    check_batch_duplicates,
    check_existing_for_create,
    match_keys,
    resolve_foreign_keys,
)
from .loaders import Loader
from .plan import Plan
from .rejects import RejectWriter
from .strategy import Transactions, WriteStrategy
from .transactions import atomic, forget_queries_since, index_lookups

if TYPE_CHECKING:
    from .pipeline import ImportResult


@dataclass
class Batch:
    """One batch as it is bound: its records, the rows that bound, how many records were
    taken (fewer than all when ``max_errors`` stops it)."""

    records: list[Record]
    rows: list[Row] = field(default_factory=list)
    taken: int = 0

    @property
    def last_line(self) -> int:
        return self.records[self.taken - 1].line if self.taken else 0


@dataclass(frozen=True)
class Written:
    created: int = 0
    updated: int = 0


@dataclass
class InFlight:
    """A batch whose COPY runs in the worker thread, inside its savepoint."""

    copy: Future
    savepoint: Any
    batch: Batch


@dataclass(eq=False)
class BatchRunner:
    """One execution of a plan over records; building it stores, :meth:`execute` runs."""

    plan: Plan
    strategy: WriteStrategy
    binder: Binder
    loader: Loader
    rejects: RejectWriter
    result: ImportResult
    using: str
    chunk_size: int
    max_errors: int | None = None
    keep_errors: int = 0
    keep_preview: int = 0
    progress: Callable[[], None] | None = None
    checkpoint: checkpoints.CheckpointFile | None = None
    #: The query-log entry before the import's first query (:func:`last_logged_query`).
    log_mark: Any = None

    def __post_init__(self) -> None:
        plan, using = self.plan, self.using
        self.records_done = self.checkpoint.records_done if self.checkpoint else 0
        self.seen = SeenKeys(plan, using=using) if plan.mode != "create" else None
        self.carried = (
            CarriedKeys(plan, using=using) if self.strategy.rolls_back_each_batch else None
        )
        self._sequence_hook = False
        self._written: list[Row] = []

    def _atomic(self) -> contextlib.AbstractContextManager[None]:
        return atomic(self.using, begin_immediate=self.strategy.begin_immediate)

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

    def execute(self, records: Iterator[Record], *, dry_run: bool) -> None:
        result = self.result
        one = self.strategy.transactions is Transactions.ONE
        outer = self._atomic() if one else contextlib.nullcontext()
        try:
            with outer:
                if self.seen is not None:
                    self.seen.create()
                if self.carried is not None:
                    self.carried.create()
                try:
                    if self.strategy.overlap:
                        self._overlapped_batches(records)
                    else:
                        self._batches(records)
                except ImportFileError as exc:
                    result.stopped = str(exc)
                    result.file_error = True
                if one:
                    if dry_run or not result.complete:
                        transaction.set_rollback(True, using=self.using)
                    else:
                        result.committed = True
        finally:
            if self.seen is not None:
                self.seen.drop()
            if self.carried is not None:
                self.carried.drop()

    def _batches(self, records: Iterator[Record]) -> None:
        result = self.result
        commit_each = self.strategy.commits_each_batch
        rollback_each = self.strategy.rolls_back_each_batch
        while True:
            batch = self._next_batch(records)
            if batch is None:
                return
            with self._atomic():
                written = self._batch(batch)
                if written.created:
                    self._move_sequence_after_commit()
                if rollback_each:
                    transaction.set_rollback(True, using=self.using)
            if self.carried is not None:  # rolled back: carry its keys to the next batches
                self.carried.add(self._written)
                if self.seen is not None:
                    self.seen.add_again()
            result.created += written.created
            result.updated += written.updated
            if commit_each and (written.created or written.updated):
                result.committed = True
            self.records_done += batch.taken
            self.rejects.flush()
            if commit_each and self.checkpoint and batch.records:
                self._save_checkpoint(self.checkpoint, batch.last_line)
            self._batch_done()
            if self.max_errors is not None and result.rejected >= self.max_errors:
                result.stopped = f"stopped after {result.rejected:,} rejected rows (max errors)"
                return

    def _save_checkpoint(self, file: checkpoints.CheckpointFile, last_line: int) -> None:
        result = self.result
        checkpoints.save(
            file.path,
            checkpoints.Checkpoint(
                size=file.size,
                sha256=file.sha256,
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

    def _batch_done(self) -> None:
        forget_queries_since(self.using, self.log_mark)
        if self.progress is not None:
            self.progress()

    def _next_batch(self, records: Iterator[Record]) -> Batch | None:
        """The next ``chunk_size`` records (blank lines of a multi-column file dropped)."""
        taken = list(islice(records, self.chunk_size))
        if not taken:
            return None
        if self.plan.width > 1:
            taken = [r for r in taken if r.raw or r.error or r.values != [None]]
        return Batch(taken)

    def _overlapped_batches(self, records: Iterator[Record]) -> None:
        """Bind batch N+1 while PostgreSQL inserts batch N (:attr:`WriteStrategy.overlap`).

        Each batch's COPY runs in a worker thread, on this connection, in a savepoint, while
        this thread reads and binds the next batch, which needs no database. The COPY's end
        (PostgreSQL's foreign-key checks and the last rows) then costs no wall time. Only
        this thread touches the connection between two COPYs: it waits for the worker before
        settling a batch (releasing its savepoint, or rolling back to it and checking the
        rows itself) and before starting the next.
        """
        connection = connections[self.using]
        pending: InFlight | None = None
        connection.inc_thread_sharing()
        try:
            with (
                self.loader.immediate_foreign_keys(),
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="exports-copy") as pool,
            ):
                try:
                    while True:
                        batch = self._next_batch(records)
                        bound = batch or Batch([])
                        for _ in self._bind(bound):
                            pass
                        self.records_done += bound.taken
                        if pending is not None:
                            self._settle(pending)
                            pending = None
                        if batch is None:
                            return
                        savepoint = transaction.savepoint(using=self.using)
                        copy = pool.submit(self.loader.stream, batch.rows)
                        pending = InFlight(copy, savepoint, batch)
                except ImportFileError:
                    if pending is not None:
                        self._settle(pending)
                    raise
                except BaseException:
                    if pending is not None:
                        pending.copy.exception()  # never leave a COPY running on the connection
                    raise
        finally:
            connection.dec_thread_sharing()

    def _settle(self, pending: InFlight) -> None:
        """Wait for a batch's COPY; keep it, or roll it back and check and write it here."""
        rows = pending.batch.rows
        try:
            created = pending.copy.result()
        except DatabaseError:
            transaction.savepoint_rollback(pending.savepoint, using=self.using)
            created = self._check_and_write(rows).created
        else:
            transaction.savepoint_commit(pending.savepoint, using=self.using)
            self._keep_preview(rows)
        if created:
            self._move_sequence_after_commit()
        self.result.created += created
        self.rejects.flush()
        self._batch_done()

    def _batch(self, batch: Batch) -> Written:
        """Bind, check and write one batch."""
        bound = self._bind(batch)
        if self.strategy.stream:
            # Optimistic: write the rows as they are bound and let PostgreSQL check the keys.
            # If it refuses, roll back to the savepoint and check them here, as below.
            try:
                with transaction.atomic(using=self.using):
                    created = self.loader.stream(bound)
            except DatabaseError:
                pass
            else:
                self._keep_preview(batch.rows)
                return Written(created=created)
        for _ in bound:  # bind what is left (all of it, or what the failed COPY left)
            pass
        return self._check_and_write(batch.rows)

    def _check_and_write(self, rows: list[Row]) -> Written:
        """Check bound rows against the database, reject the bad ones, write the rest."""
        with index_lookups(self.using, enabled=self.strategy.index_lookups):
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
        return Written(created=created, updated=updated)

    def _bind(self, batch: Batch) -> Iterator[Row]:
        """Bind the batch's records, rejecting the bad ones; yield (and keep) the good rows."""
        result = self.result
        bind = self.binder.bind
        limit = self.max_errors
        rows = batch.rows
        for record in batch.records:
            if limit is not None and result.rejected >= limit:
                return
            batch.taken += 1
            result.rows_read += 1
            if record.error:
                self._reject(record.raw, [RowError(record.line, "", record.error)])
                continue
            values, errors = bind(record)
            if values is None:
                self._reject(record.raw, errors)
                continue
            row = Row(record.line, record.raw, values)
            rows.append(row)
            yield row

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
            if self.seen is not None:  # always, outside create mode
                self.seen.check_and_add(rows)

    def _reject(self, raw: str, errors: list[RowError]) -> None:
        self.result.rejected += 1
        self.rejects.write(errors, raw)
        room = self.keep_errors - len(self.result.first_errors)
        if room > 0:
            self.result.first_errors.extend(errors[:room])
