"""A watchdog for exports paced by a client: a stalled client must not pin the database.

While a download waits for its client, the export's generator is suspended at ``yield`` and a
WSGI or ASGI server that cannot send never resumes it, so nothing inside the generator can see
the stall. Meanwhile the cursor engine's backend sits ``idle in transaction`` and the copy
engine's is blocked writing COPY data to us: either holds its snapshot and an
``ACCESS SHARE`` lock, so a migration's ``ALTER TABLE`` (and every query queued behind it)
waits for as long as the client does.

:class:`Watchdog` runs one thread per transfer. It is armed when a chunk is handed to the
consumer and disarmed when the consumer asks for the next one, so only the client's time
counts, never the database's. When it expires it calls back from its own thread; the HTTP sink
then ends the backend with :func:`terminate_backend` (PostgreSQL processes a query cancel only
between reads, not while blocked writing to its client: only a terminate frees it), records
why, and raises :class:`ExportStalled` if the server ever asks for more.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from django.db import connections

from .errors import ExportAborted

logger = logging.getLogger(__name__)

STALLED = "client stalled: took no data for {seconds:g} s, so the export was ended"
# The cursor engine also asks PostgreSQL to end its session if it sits idle in its transaction
# this much longer than the timeout: a backstop for a serving process that hangs as a whole.
IDLE_IN_TRANSACTION_MARGIN = 60


class ExportStalled(ExportAborted):
    """The client took no data for longer than ``EXPORTS["CLIENT_STALL_TIMEOUT"]``."""


class Watchdog:
    """Call ``on_expire`` (once, from another thread) when armed for ``timeout`` seconds."""

    def __init__(self, timeout: float, on_expire: Callable[[], None]) -> None:
        self.timeout = timeout
        self.on_expire = on_expire
        self.lock = threading.Lock()
        self.expired = False
        self._deadline: float | None = None
        self._wake = threading.Event()
        # Set once ``on_expire`` has returned: whoever finds the watchdog expired waits on it.
        self.handled = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def arm(self) -> None:
        """Start counting: the chunk is the consumer's now."""
        with self.lock:
            if self._stopped or self.expired:
                return
            self._deadline = time.monotonic() + self.timeout
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="exports-watchdog", daemon=True
                )
                self._thread.start()

    def disarm(self) -> bool:
        """Stop counting (the consumer is back); False if the watchdog expired first."""
        with self.lock:
            self._deadline = None
            return not self.expired

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
            self._deadline = None
        self._wake.set()

    def _run(self) -> None:
        while True:
            with self.lock:
                if self._stopped:
                    return
                deadline = self._deadline
                if deadline is not None and time.monotonic() >= deadline:
                    self.expired = True
                    self._stopped = True
            if self.expired:
                try:
                    self.on_expire()
                except Exception:
                    logger.exception("The export watchdog's callback failed.")
                finally:
                    self.handled.set()
                return
            wait = self.timeout if deadline is None else max(deadline - time.monotonic(), 0)
            self._wake.wait(min(wait, self.timeout))


def backend_of(using: str) -> tuple[int, int] | None:
    """``(pid, socket fd)`` of the PostgreSQL backend serving ``using`` in this thread."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    info = connection.connection.pgconn
    return info.backend_pid, info.socket


def terminate_backend(using: str, pid: int, fileno: int | None = None) -> bool:
    """End backend ``pid`` from a separate short connection (``pg_terminate_backend``).

    If that connection cannot be made (``max_connections`` reached, say), shut down the
    stalled connection's own socket (``fileno``) instead: the backend fails its next write and
    exits, and the serving thread's next read fails.

    With ``DISABLE_SERVER_SIDE_CURSORS`` (pgbouncer in transaction mode) only the socket is shut
    down: the client's ``backend_pid`` is then pgbouncer's random cancel key, which may be another
    session's pid; pgbouncer closes the server connection whose transaction lost its client.
    """
    import psycopg

    if connections[using].settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return _shut_down(pid, fileno)
    params = connections[using].get_connection_params()
    for key in ("cursor_factory", "context", "pool"):
        params.pop(key, None)
    port = _local_port(fileno)
    try:
        with psycopg.connect(**params, autocommit=True, connect_timeout=10) as conn:
            # Only the backend whose client is this very socket: behind any pooler (pgbouncer
            # in session mode too) ``pid`` is a made-up cancel key that may name another
            # session, and no backend's client port is then ours. Over a Unix socket there
            # is no port to match (``client_port`` is -1 there).
            row = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid = %s AND client_port = %s",
                [pid, port if port is not None else -1],
            ).fetchone()
            if row and row[0]:
                # pg_terminate_backend only signals; wait (briefly) until the backend is gone.
                deadline = time.monotonic() + 5
                query = "SELECT 1 FROM pg_stat_activity WHERE pid = %s"
                while conn.execute(query, [pid]).fetchone() and time.monotonic() < deadline:
                    time.sleep(0.02)
                return True
    except psycopg.Error:
        logger.exception("Could not terminate backend %s; shutting its socket down.", pid)
    return _shut_down(pid, fileno)


def _local_port(fileno: int | None) -> int | None:
    """This side's TCP port of the connection on ``fileno`` (None for a Unix socket)."""
    if fileno is None:
        return None
    try:
        with socket.socket(fileno=os.dup(fileno)) as sock:
            address = sock.getsockname()
    except OSError:
        return None
    return address[1] if isinstance(address, tuple) else None


def _shut_down(pid: int, fileno: int | None) -> bool:
    if fileno is None:
        return False
    try:
        # A duplicate descriptor: shutdown() acts on the socket itself, and closing the
        # duplicate leaves libpq's own descriptor alone.
        with socket.socket(fileno=os.dup(fileno)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        logger.exception("Could not shut down the socket of backend %s.", pid)
        return False
    return True
