"""A client gone mid-download releases the cursor and ends the transaction (PostgreSQL).

Checked from a second connection in ``pg_stat_activity``: while streaming, the serving
backend is inside its export (``idle in transaction`` between cursor fetches, ``active`` in a
COPY); once the response is closed, it is ``idle``, never left ``idle in transaction``.
"""

from __future__ import annotations

import time
from unittest import mock

import psycopg
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.signals import request_finished
from django.db import connection
from django.test import AsyncClient

from exports.http import CLIENT_WENT_AWAY
from exports.models import ExportLog
from exportsite.shop.seeding import seed
from tests.accounts import make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.direct_connection(
        "watches the serving backend by the client's backend_pid, which pgbouncer does not "
        "pass through (tests/web/test_servers.py checks disconnects and stalls through it)"
    ),
    # A leaked transaction would block the teardown TRUNCATE forever: fail instead.
    pytest.mark.timeout(120),
]

URL = "/exports/shop/order.csv"
ENGINES = ["cursor", "copy"]


@pytest.fixture
def big_table(settings):
    # Enough bytes (about 10 MB) that COPY cannot finish into the socket buffers.
    seed(orders=50_000)
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 200}
    return make_user("boss", is_superuser=True)


@pytest.fixture
def monitor():
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password")},
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as conn:

        def state(pid: int) -> str | None:
            row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid])
            found = row.fetchone()
            return found[0] if found else None

        def wait_for(pid: int, wanted: str) -> str | None:
            deadline = time.monotonic() + 5
            while (current := state(pid)) != wanted and time.monotonic() < deadline:
                time.sleep(0.05)
            return current

        yield state, wait_for


MID_STREAM_STATE = {"cursor": "idle in transaction", "copy": "active"}


def without_request_finished():
    # Keep the connection open after close(), to see the state its backend is left in.
    return mock.patch.object(request_finished, "send")


@pytest.mark.parametrize("engine", ENGINES)
def test_wsgi_disconnect_releases_cursor_and_transaction(
    client, settings, big_table, monitor, engine
):
    state, wait_for = monitor
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": engine}
    client.force_login(big_table)
    response = client.get(URL)
    try:
        chunks = iter(response.streaming_content)
        next(chunks)
        next(chunks)
        pid = connection.connection.info.backend_pid
        mid_stream = state(pid)
    finally:
        with without_request_finished():
            response.close()
    assert mid_stream == MID_STREAM_STATE[engine]
    assert wait_for(pid, "idle") == "idle"
    log = ExportLog.objects.get()
    assert (log.status, log.engine, log.error) == ("aborted", engine, CLIENT_WENT_AWAY)
    assert 0 < log.rows < 50_000


@pytest.mark.parametrize("engine", ENGINES)
def test_asgi_disconnect_releases_cursor_and_transaction(settings, big_table, monitor, engine):
    state, wait_for = monitor
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": engine}
    seen = {}

    async def run():
        client = AsyncClient()
        await client.aforce_login(big_table)
        response = await client.get(URL)
        try:
            chunks = aiter(response.streaming_content)
            await anext(chunks)
            await anext(chunks)
            seen["pid"] = await sync_to_async(lambda: connection.connection.info.backend_pid)()
            seen["mid"] = state(seen["pid"])
        finally:
            with without_request_finished():
                # What Django's ASGI handler does once the client is gone.
                await sync_to_async(response.close)()

    async_to_sync(run)()
    assert seen["mid"] == MID_STREAM_STATE[engine]
    assert wait_for(seen["pid"], "idle") == "idle"
    assert ExportLog.objects.get().status == "aborted"
