"""A client that stops reading never pins a PostgreSQL snapshot or lock for long (PostgreSQL).

A stalled WSGI/ASGI consumer never asks for the next chunk, so nothing inside the generator can
notice: the watchdog (``EXPORTS["CLIENT_STALL_TIMEOUT"]``) ends the backend from outside, writes
why in the audit log, and makes the stream raise if the server ever asks for more. Checked from
a second connection: the backend is gone from ``pg_stat_activity`` and ``LOCK TABLE`` goes
through, while the consumer is still stalled.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from exports.models import ExportLog
from exports.watchdog import STALLED, ExportStalled
from exportsite.shop.seeding import seed
from tests.accounts import make_user

from .test_disconnect import URL, without_request_finished

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

TIMEOUT = 1.0
# Behind pgbouncer the client's backend_pid is pgbouncer's own, not the serving backend's.
BY_BACKEND_PID = pytest.mark.direct_connection(
    "watches the serving backend by the client's backend_pid, which pgbouncer does not "
    "pass through (tests/web/test_servers.py checks stalls through it)"
)


@pytest.fixture
def stalling(settings):
    seed(orders=50_000)
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 200, "CLIENT_STALL_TIMEOUT": TIMEOUT}
    return make_user("boss", is_superuser=True)


@pytest.fixture
def monitor():
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password")},
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as conn:
        yield conn


def backend_state(monitor, pid: int) -> str | None:
    row = monitor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row[0] if row else None


def wait_until_gone(monitor, pid: int, within: float) -> float:
    started = time.monotonic()
    while backend_state(monitor, pid) is not None and time.monotonic() - started < within:
        time.sleep(0.05)
    return time.monotonic() - started


def wait_for_log(monitor) -> tuple:
    """The watchdog writes the log right after the backend is gone, from its own thread.

    Read from the monitor: this thread's connection is the one the watchdog ended.
    """
    query = "SELECT status, engine, error, rows FROM exports_exportlog"
    deadline = time.monotonic() + 5
    while (log := monitor.execute(query).fetchone())[0] == "started":
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return log


def lock_table(monitor) -> None:
    """What a migration's ALTER TABLE needs: nobody else holding any lock on the table."""
    with monitor.transaction():
        monitor.execute("SET LOCAL lock_timeout = '2s'")
        monitor.execute("LOCK TABLE shop_order IN ACCESS EXCLUSIVE MODE")


@BY_BACKEND_PID
@pytest.mark.parametrize("engine", ["cursor", "copy"])
def test_a_stalled_download_is_ended_within_the_timeout(
    client, settings, stalling, monitor, engine
):
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": engine}
    client.force_login(stalling)
    response = client.get(URL)
    chunks = iter(response.streaming_content)
    try:
        next(chunks)
        next(chunks)
        pid = connection.connection.info.backend_pid
        stalled_at = time.monotonic()
        mid_stream = backend_state(monitor, pid)
        # The consumer takes nothing more: only something outside the generator can act.
        wait_until_gone(monitor, pid, within=TIMEOUT + 10)
        gone_after = time.monotonic() - stalled_at
        left = backend_state(monitor, pid)
        lock_table(monitor)
        status, logged_engine, error, rows = wait_for_log(monitor)
        # A server that asks for more after all gets an error, never the rest or a tidy end.
        with pytest.raises(ExportStalled) as excinfo:
            next(chunks)
    finally:
        with without_request_finished():
            response.close()
        connection.close()

    assert mid_stream == {"cursor": "idle in transaction", "copy": "active"}[engine]
    assert left is None
    assert TIMEOUT <= gone_after < TIMEOUT + 5
    reason = STALLED.format(seconds=TIMEOUT)
    assert (status, logged_engine, error) == ("aborted", engine, reason)
    assert 0 < rows < 50_000
    assert excinfo.value.args == (reason,)
    assert ExportLog.objects.get().error == reason  # the late close() did not overwrite it


def test_a_slow_consumer_within_the_timeout_completes(client, settings, stalling):
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": "cursor", "CHUNK_SIZE": 20_000}
    client.force_login(stalling)
    response = client.get(URL)
    for _chunk in response.streaming_content:
        time.sleep(TIMEOUT / 2)
    response.close()

    log = ExportLog.objects.get()
    assert (log.status, log.rows, log.error) == ("completed", 50_000, "")


def test_the_cursor_engine_asks_the_server_to_end_an_idle_transaction_too(
    client, settings, stalling
):
    """A backstop if the serving process itself hangs: PostgreSQL ends the session."""
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": "cursor", "CLIENT_STALL_TIMEOUT": 300}
    client.force_login(stalling)
    response = client.get(URL)
    chunks = iter(response.streaming_content)
    try:
        next(chunks)
        next(chunks)
        with connection.cursor() as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            inside = cursor.fetchone()[0]
    finally:
        response.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        after = cursor.fetchone()[0]

    assert (inside, after) == ("6min", "0")


@BY_BACKEND_PID
def test_no_timeout_when_disabled(client, settings, stalling, monitor):
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": "cursor", "CLIENT_STALL_TIMEOUT": None}
    client.force_login(stalling)
    response = client.get(URL)
    chunks = iter(response.streaming_content)
    try:
        next(chunks)
        next(chunks)
        pid = connection.connection.info.backend_pid
        time.sleep(TIMEOUT + 1)
        state = backend_state(monitor, pid)
    finally:
        with without_request_finished():
            response.close()

    assert state == "idle in transaction"
    assert ExportLog.objects.get().error == "client disconnected"
