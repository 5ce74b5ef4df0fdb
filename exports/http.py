"""The HTTP sink: an :class:`~exports.stream.Export` as a ``StreamingHttpResponse``.

Shared by the download view and the admin. What it guarantees:

- the right iterator kind for the server: a synchronous one under WSGI, an asynchronous one
  under ASGI (Django would otherwise warn and read the whole body into a list);
- a failure after the first byte propagates out of the iterator, so the server drops the
  connection and the client sees an incomplete chunked body, never a short file that looks
  complete; nothing is ever written into the data;
- a client that goes away closes the export's generator in the thread that opened its
  transaction and cursor, so they are released at once;
- every transfer ends in the audit log (:class:`~exports.models.ExportLog`) as completed or
  aborted, with the user, model, fields, filters, rows, bytes and duration;
- a client that takes no data for ``EXPORTS["CLIENT_STALL_TIMEOUT"]`` seconds gets its export
  ended from outside the generator (:mod:`exports.watchdog`), the reason in the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connections, router
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from .models import ExportLog
from .stream import Export
from .watchdog import STALLED, ExportStalled, Watchdog, backend_of, terminate_backend

logger = logging.getLogger(__name__)

FALLBACK_NAME = "export"
CLIENT_WENT_AWAY = "client disconnected"
STALL_HANDLING_WAIT = 30


def attachment_header(filename: str) -> str:
    """``Content-Disposition: attachment`` for ``filename``, written by Django's
    :func:`~django.utils.http.content_disposition_header` (a non-ASCII name as ``filename*``,
    RFC 8187).

    Control characters, quotes, backslashes, semicolons and path separators are dropped first,
    and leading dots, so that a name made from a model's verbose name is a plain file name.
    """
    cleaned = "".join(c for c in filename if c.isprintable() and c not in '"\\/;').strip()
    return content_disposition_header(True, cleaned.lstrip(".") or FALLBACK_NAME)


def export_filename(export: Export) -> str:
    """``orders-20240501-120000.csv``: the model's plural name and the UTC time."""
    name = slugify(str(export.model._meta.verbose_name_plural), allow_unicode=True)
    stamp = timezone.now().astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{name or FALLBACK_NAME}-{stamp}.{export.extension}"


def open_log(
    request: HttpRequest,
    export: Export,
    *,
    source: str,
    filters: Sequence[tuple[str, str]] = (),
    query_string: str = "",
) -> ExportLog:
    """Record the export as started (before the first byte, so a dead process leaves a trace)."""
    user = request.user if request.user.is_authenticated else None
    return ExportLog.objects.create(
        user=user,
        username=user.get_username() if user else "",
        model=export.model._meta.label,
        source=source,
        format=export.writer.name,
        fields=[c.path for c in export.columns],
        filters=[list(pair) for pair in filters],
        query_string=query_string,
        engine=export.engine,
        started_at=timezone.now(),
    )


def stream_response(
    request: HttpRequest, export: Export, *, log: ExportLog, filename: str | None = None
) -> StreamingHttpResponse:
    """The response for ``export``; its body is produced only as the server sends it."""
    stream = AuditedStream(export, log=log)
    content: Any = AsyncStream(stream) if isinstance(request, ASGIRequest) else stream
    response = StreamingHttpResponse(content, content_type=export.content_type)
    response["Content-Disposition"] = attachment_header(filename or export_filename(export))
    response["Cache-Control"] = "no-store"
    # Tell nginx (and similar proxies) to pass chunks on as they come instead of buffering.
    response["X-Accel-Buffering"] = "no"
    return response


class AuditedStream:
    """The export's chunks, with the audit row finished however the iteration ends.

    A class rather than a generator so that ``close()`` before the first ``next()`` (a client
    gone before the body started) still records the abort. Exceptions are re-raised: that is
    what makes the server abort the connection.

    With ``export.stall_timeout`` set, a :class:`~exports.watchdog.Watchdog` counts the time
    each chunk waits for the server to ask for the next one. A client that stops reading
    stalls the server's send, so that ask never comes: on expiry the watchdog (from its own
    thread) ends the PostgreSQL backend the engine holds, if any, and records the reason; if
    the server asks again later, ``__next__`` raises :class:`~exports.watchdog.ExportStalled`.
    """

    def __init__(self, export: Export, *, log: ExportLog) -> None:
        self.export = export
        self.log = log
        self._chunks: Iterator[bytes] | None = None
        self._started = time.monotonic()
        self.finished = False
        self._watchdog = (
            Watchdog(export.stall_timeout, self._on_stall) if export.stall_timeout else None
        )
        # What the watchdog ends: the (pid, socket) the engine holds between chunks.
        self._backend: tuple[int, int] | None = None
        self._holds_backend = export.engine in ("cursor", "copy")

    def __iter__(self) -> AuditedStream:
        return self

    def __next__(self) -> bytes:
        if self._watchdog is not None and not self._watchdog.disarm():
            return self._after_stall()
        if self.finished:
            raise StopIteration
        if self._chunks is None:
            self._chunks = iter(self.export)
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._finish(ExportLog.Status.COMPLETED)
            raise
        except BaseException as exc:
            logger.error(
                "Export of %s for %s aborted after %s rows (%s bytes): %s",
                self.log.model,
                self.log.username or "anonymous",
                self.export.rows,
                self.export.bytes_sent,
                exc,
                exc_info=exc,
            )
            self._finish(ExportLog.Status.ABORTED, error=f"{type(exc).__name__}: {exc}")
            raise
        if self._watchdog is not None:
            if self._holds_backend:
                self._backend = backend_of(self.export.queryset.db)
            self._watchdog.arm()
        return chunk

    def close(self) -> None:
        """Called by the server (through the response) when the transfer ends or is dropped."""
        if self._watchdog is not None and not self._watchdog.disarm():
            self._release_after_stall()
            return
        if self.finished:
            return
        logger.warning(
            "Export of %s for %s stopped by the client after %s rows (%s bytes).",
            self.log.model,
            self.log.username or "anonymous",
            self.export.rows,
            self.export.bytes_sent,
        )
        self._finish(ExportLog.Status.ABORTED, error=CLIENT_WENT_AWAY)

    def _finish(self, status: str, *, error: str = "") -> None:
        self.finished = True
        if self._watchdog is not None:
            self._watchdog.stop()
        try:
            if self._chunks is not None:
                # Ends the export's transaction and closes its cursor before the log is written,
                # so the log row is never part of (or rolled back with) the export's transaction.
                self._chunks.close()  # type: ignore[attr-defined]
        finally:
            self._write_log(status, error)

    def _on_stall(self) -> None:
        """The watchdog's thread: end the backend, then record why (the consumer may never
        come back to do either)."""
        reason = STALLED.format(seconds=self.export.stall_timeout)
        logger.warning(
            "Export of %s for %s ended after %s rows (%s bytes): %s.",
            self.log.model,
            self.log.username or "anonymous",
            self.export.rows,
            self.export.bytes_sent,
            reason,
        )
        try:
            if self._backend is not None:
                terminate_backend(self.export.queryset.db, *self._backend)
            self._write_log(ExportLog.Status.ABORTED, reason)
        finally:
            # This thread's own connections (the log's, the terminating one is closed already).
            connections.close_all()

    def _after_stall(self) -> bytes:
        """The server asked for more after the watchdog ended the export: abort the transfer."""
        already = self.finished
        self._release_after_stall()
        if already:
            raise StopIteration
        raise ExportStalled(STALLED.format(seconds=self.export.stall_timeout))

    def _release_after_stall(self) -> None:
        """Close the generator in the serving thread, once the watchdog is done."""
        if self.finished:
            return
        self.finished = True
        # Let the watchdog end the backend and write the log first (bounded: it gives up on
        # a backend after its own short timeouts).
        self._watchdog.handled.wait(STALL_HANDLING_WAIT)  # type: ignore[union-attr]
        if self._backend is not None:
            # Its backend is gone: drop the connection first, so that closing the cursor and
            # leaving the transaction below do not talk to a dead server.
            with contextlib.suppress(DatabaseError):
                connections[self.export.queryset.db].close()
        if self._chunks is not None:
            with contextlib.suppress(DatabaseError):
                self._chunks.close()  # type: ignore[attr-defined]

    def _write_log(self, status: str, error: str) -> None:
        alias = router.db_for_write(ExportLog)
        connection = connections[alias]
        # After a lost connection (the failure we may be reporting), reconnect for the log.
        if (
            connection.connection is not None
            and not connection.in_atomic_block
            and connection.errors_occurred
            and not connection.is_usable()
        ):
            connection.close()
        try:
            ExportLog.objects.using(alias).filter(pk=self.log.pk).update(
                status=status,
                rows=self.export.rows,
                bytes_sent=self.export.bytes_sent,
                seconds=round(time.monotonic() - self._started, 6),
                error=error[:2000],
                finished_at=timezone.now(),
            )
        except DatabaseError:
            logger.exception("Could not record the end of export log entry %s.", self.log.pk)


class AsyncStream:
    """An asynchronous view of an :class:`AuditedStream` for ASGI servers.

    Each chunk is produced by ``sync_to_async(thread_sensitive=True)``: under Django's ASGI
    handler that is the request's own thread, the one that ran the view, so the transaction
    and server-side cursor stay on one connection from the first chunk to ``close()`` (which
    Django also calls through ``sync_to_async``, after a disconnect too).
    """

    def __init__(self, stream: AuditedStream) -> None:
        self.stream = stream
        self._next = sync_to_async(self._step, thread_sensitive=True)

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    def _step(self) -> bytes | None:
        return next(self.stream, None)

    def close(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.stream.close()  # a synchronous thread: Django's ASGI handler, normally
            return
        if not self.stream.finished:
            # Called on the event loop (Django's test AsyncClient does this): the database
            # work must run in the request's thread, not here.
            task = loop.create_task(sync_to_async(self.stream.close, thread_sensitive=True)())
            _pending.add(task)
            task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task] = set()
