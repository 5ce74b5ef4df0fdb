"""The export pipeline: QuerySet -> batches of rows -> writer -> bytes chunks.

:func:`prepare_export` checks everything that can be checked (fields, format, engine, options,
ordering) and returns an :class:`Export`; nothing touches the database until it is iterated.
Iterating yields ``bytes`` chunks, one per batch. Resources (transaction, cursor) are opened
inside the generator and released when it finishes or is closed early.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db import connections, models

from . import conf, engines, keyset
from .columns import Column, resolve_columns, resolve_path
from .errors import ExportError
from .formats import Writer, get_writer_class
from .watchdog import IDLE_IN_TRANSACTION_MARGIN

logger = logging.getLogger(__name__)

BAD_CHUNK_SIZE = "The chunk size must be a positive integer, not {value!r}."
BAD_LIMIT = "The limit must be zero or a positive integer, not {value!r}."


class Export:
    """A validated export, ready to stream. Iterate it for ``bytes`` chunks.

    ``rows`` and ``bytes_sent`` count what has been produced so far; ``completed`` turns
    True only after the last chunk was produced.
    """

    def __init__(
        self,
        *,
        queryset: models.QuerySet,
        columns: Sequence[Column],
        writer: Writer,
        engine: str,
        chunk_size: int,
        limit: int | None,
        stall_timeout: float | None = None,
    ) -> None:
        self.queryset = queryset
        self.columns = tuple(columns)
        self.writer = writer
        self.engine = engine
        self.chunk_size = chunk_size
        self.limit = limit
        # Set for client-paced exports: see exports.watchdog.
        self.stall_timeout = stall_timeout
        self.rows = 0
        self.bytes_sent = 0
        self.completed = False
        self.seconds = 0.0

    @property
    def model(self) -> type[models.Model]:
        return self.queryset.model

    @property
    def content_type(self) -> str:
        return self.writer.content_type

    @property
    def extension(self) -> str:
        return self.writer.extension

    def count(self) -> int:
        """How many rows the export will hold (one COUNT query; for progress bars)."""
        total = self.queryset.count()
        return total if self.limit is None else min(total, self.limit)

    def __iter__(self) -> Iterator[bytes]:
        return self._generate()

    def _generate(self) -> Iterator[bytes]:
        started = time.monotonic()
        self.rows = self.bytes_sent = 0
        self.completed = False
        head = self.writer.begin()
        if head:
            self.bytes_sent += len(head)
            yield head
        # With DEBUG=True Django logs every query's SQL, up to 9,000 of them. Only the keyset
        # engine runs more than one query, each a few hundred bytes, so that log stays small;
        # it is not cleared here, which would break callers that count queries.
        for chunk, count in self._chunks():
            self.rows += count
            self.bytes_sent += len(chunk)
            yield chunk
        tail = self.writer.end()
        if tail:
            self.bytes_sent += len(tail)
            yield tail
        self.completed = True
        self.seconds = time.monotonic() - started
        logger.info(
            "exported %s rows of %s (%s bytes, engine %s) in %.2f s",
            self.rows,
            self.model._meta.label,
            self.bytes_sent,
            self.engine,
            self.seconds,
        )

    def _chunks(self) -> Iterator[tuple[bytes, int]]:
        if self.engine == "copy":
            yield from engines.iter_copy_chunks(
                self.queryset,
                self.columns,
                self.writer,
                chunk_size=self.chunk_size,
                limit=self.limit,
            )
            return
        exprs = self.writer.select(connections[self.queryset.db])
        if self.engine == "keyset":
            query = self.queryset.query
            keys = keyset.keyset_keys(self.model, query.order_by, annotations=query.annotations)
            assert keys is not None  # choose_engine picked keyset only where it can page
            batches = engines.iter_keyset_batches(
                self.queryset, exprs, chunk_size=self.chunk_size, limit=self.limit, keys=keys
            )
        else:
            idle = self.stall_timeout and self.stall_timeout + IDLE_IN_TRANSACTION_MARGIN
            batches = engines.iter_cursor_batches(
                self.queryset,
                exprs,
                chunk_size=self.chunk_size,
                limit=self.limit,
                idle_timeout=idle,
            )
        write = self.writer.write_batch
        for batch in batches:
            yield write(batch), len(batch)


def normalise_ordering(queryset: models.QuerySet, order_by: Sequence[str] | None) -> list[Any]:
    """The ordering to use: ``order_by``, else the queryset's, else the model's, then the pk.

    The primary key is appended as a tie-breaker unless already there, so output is
    deterministic, and whatever follows it is dropped (the admin's changelist asks for
    ``pk, -pk``; nothing sorts after a unique key); field names in ``order_by`` are checked
    like field paths.
    """
    model = queryset.model
    if order_by:
        for item in order_by:
            resolve_path(model, item.removeprefix("-"))
        ordering: list[Any] = list(order_by)
    else:
        ordering = list(queryset.query.order_by) or list(model._meta.ordering) or []
    pk_names = {"pk", model._meta.pk.name, model._meta.pk.attname}
    for index, item in enumerate(ordering):
        if isinstance(item, str) and item.lstrip("-") in pk_names:
            return ordering[: index + 1]
    ordering.append("pk")
    return ordering


def prepare_export(
    *,
    queryset: models.QuerySet,
    fields: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    format: str = "csv",  # noqa: A002  (the public name users know)
    engine: str | None = None,
    chunk_size: int | None = None,
    header: bool = True,
    delimiter: str | None = None,
    bom: bool = False,
    escape_formulas: bool = False,
    limit: int | None = None,
    order_by: Sequence[str] | None = None,
    client_paced: bool = False,
) -> Export:
    """Check the request and return an :class:`Export`; raises ExportError before any query.

    ``client_paced=True`` says that a client sets the pace (a download it may stall): on
    SQLite the engine must then hold no lock between batches (see :mod:`exports.engines`),
    and the export carries ``EXPORTS["CLIENT_STALL_TIMEOUT"]`` for the sink's watchdog (see
    :mod:`exports.watchdog`). A file or a pipe the caller writes itself keeps the default.
    """
    model = queryset.model
    chunk_size = conf.get("CHUNK_SIZE") if chunk_size is None else chunk_size
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ExportError(BAD_CHUNK_SIZE.format(value=chunk_size))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ExportError(BAD_LIMIT.format(value=limit))
    columns = resolve_columns(model, fields, dict(labels or {}))
    vendor = connections[queryset.db].vendor
    writer = get_writer_class(format)(
        columns,
        vendor=vendor,
        header=header,
        delimiter=delimiter,
        bom=bom,
        escape_formulas=escape_formulas,
    )
    ordering = normalise_ordering(queryset, order_by)
    queryset = queryset.order_by(*ordering)
    chosen = engines.choose_engine(
        engine or conf.get("ENGINE"),
        using=queryset.db,
        model=model,
        columns=columns,
        writer=writer,
        ordering=ordering,
        annotations=queryset.query.annotations,
        client_paced=client_paced,
    )
    return Export(
        queryset=queryset,
        columns=columns,
        writer=writer,
        engine=chosen,
        chunk_size=chunk_size,
        limit=limit,
        stall_timeout=conf.get("CLIENT_STALL_TIMEOUT") if client_paced else None,
    )
