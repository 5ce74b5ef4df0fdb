"""Downloads from real servers on loopback, as a browser or curl gets them.

gunicorn (WSGI) and uvicorn (ASGI) serve the demo project; httpx logs into the admin as a
staff user holding ``view_order`` and ``export_order`` and downloads 100,000 orders.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import time

import httpx
import pytest

from exports.registry import get
from exportsite.shop.models import Order

from .conftest import ORDERS
from .serve import INJECTED

FIELDS = ",".join(get(Order).fields)
URL = f"/exports/shop/order.csv?fields={FIELDS}"


@pytest.fixture(scope="module")
def expected(live_db) -> bytes:
    """What ``exportdata`` writes for the same fields (formulas neutralised, as for people)."""
    return live_db.manage(
        "exportdata", "shop.Order", "--fields", FIELDS, "--escape-formulas", "-v", "0"
    )


def test_download_equals_exportdata_byte_for_byte(serve, expected):
    server = serve()
    with server.login() as client, client.stream("GET", URL) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["content-disposition"].startswith('attachment; filename="orders-')
        body = b"".join(response.iter_raw())
    assert body.count(b"\n") > ORDERS
    assert body == expected


def test_checks_before_streaming(serve):
    server = serve()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        response = anonymous.get(URL)
        assert response.status_code == 302
        assert response.headers["location"].startswith("/admin/login/?next=/exports/shop/")
    with server.login() as client:
        assert client.get("/exports/auth/user.csv").status_code == 404
        assert client.get("/exports/shop/customer.csv").status_code == 403
        response = client.get("/exports/shop/order.csv?fields=id,customer__name")
        assert response.status_code == 400
        assert response.text.startswith('Field "customer__name" is not exportable')


def test_failure_after_the_first_byte_aborts_the_connection(serve, live_db, expected):
    server = serve(LIVE_FAIL_AFTER_CHUNKS="2", EXPORTS_CHUNK_SIZE="1000")
    received = bytearray()
    with server.login() as client, client.stream("GET", URL) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):  # incomplete chunked read
            for chunk in response.iter_raw():
                received += chunk
    # What arrived is a true prefix of the export: two batches, never a tidy short file and
    # never the error text.
    assert expected.startswith(bytes(received))
    assert 0 < len(received) < len(expected)
    assert INJECTED.encode() not in received
    status = live_db.shell(
        "from exports.models import ExportLog; e = ExportLog.objects.first(); "
        "print(e.status, e.rows, e.username, e.error)"
    )
    assert status.strip() == f"aborted 2000 exporter OperationalError: {INJECTED}"


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["cursor", "copy"])
def test_disconnect_releases_the_database_session(serve, live_db, engine):
    import psycopg

    server = serve(LIVE_EXPORTS_ENGINE=engine, EXPORTS_CHUNK_SIZE="500")
    busy = """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend'
          AND state IN ('active', 'idle in transaction')
    """
    # No automatic prepared statements: behind pgbouncer (transaction mode) the next
    # statement may run on another server connection, which does not have them.
    with psycopg.connect(live_db.url, autocommit=True, prepare_threshold=None) as monitor:
        with server.login() as client, client.stream("GET", URL) as response:
            stream = response.iter_raw()
            next(stream)
            next(stream)
            assert monitor.execute(busy).fetchone()[0] == 1  # the export, mid-way
        # The client has closed the connection: the server must notice and let go.
        deadline = time.monotonic() + 15
        while (left := monitor.execute(busy).fetchone()[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == 0
    status = live_db.shell(
        "from exports.models import ExportLog; print(ExportLog.objects.first().status)"
    )
    assert status.strip() == "aborted"


# A client that stays connected but stops reading --------------------------------------------

STALL_TIMEOUT = 1.0
EXPORT_ALL = "/admin/shop/order/export/?_export_format=csv"


@contextlib.contextmanager
def stalled_download(server, path: str):
    """A raw socket that asks for ``path``, reads the first bytes of the body, then stops
    reading (a tiny receive buffer, so the server's send blocks soon) but stays connected."""
    with server.login() as client:
        session = client.cookies["sessionid"]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={session}\r\n"
        sock.sendall(request.encode() + b"\r\n")
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head
        yield sock
    finally:
        sock.close()


def log_entry(live_db) -> str:
    return live_db.shell(
        "from exports.models import ExportLog; e = ExportLog.objects.first(); "
        "print(e.status, e.engine, e.error)"
    ).strip()


def wait_for_log(live_db, within: float) -> str:
    deadline = time.monotonic() + within
    while (entry := log_entry(live_db)).startswith("started") and time.monotonic() < deadline:
        time.sleep(0.2)
    return entry


@pytest.mark.sqlite  # SQLite's locking; PostgreSQL's is checked below
def test_a_stalled_export_all_leaves_sqlite_writers_free(serve, live_db):
    server = serve(EXPORTS_CHUNK_SIZE="500")
    path = live_db.url.removeprefix("sqlite:///")
    with stalled_download(server, EXPORT_ALL):
        time.sleep(1)  # the server has filled the socket buffers and blocks in its send
        writer = sqlite3.connect(path, timeout=0.5)
        try:
            writer.execute("UPDATE shop_order SET note = 'written' WHERE id = 1")
            writer.commit()
        finally:
            writer.close()
        entry = log_entry(live_db)

    assert entry == "started keyset"


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["cursor", "copy"])
def test_a_stalled_download_is_ended_and_frees_the_table(serve, live_db, engine):
    import psycopg

    server = serve(
        LIVE_EXPORTS_ENGINE=engine, LIVE_STALL_TIMEOUT=str(STALL_TIMEOUT), EXPORTS_CHUNK_SIZE="500"
    )
    busy = """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend'
          AND state IN ('active', 'idle in transaction')
    """
    with (
        psycopg.connect(live_db.url, autocommit=True, prepare_threshold=None) as monitor,
        stalled_download(server, URL),
    ):
        # The header line leaves before the query runs: wait for the export's backend.
        started = time.monotonic()
        while not monitor.execute(busy).fetchone()[0] and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert monitor.execute(busy).fetchone()[0] == 1  # the export, blocked on our socket
        stalled_at = time.monotonic()
        while monitor.execute(busy).fetchone()[0] and time.monotonic() - stalled_at < 15:
            time.sleep(0.05)
        freed_after = time.monotonic() - stalled_at
        with monitor.transaction():
            monitor.execute("SET LOCAL lock_timeout = '2s'")
            monitor.execute("LOCK TABLE shop_order IN ACCESS EXCLUSIVE MODE")
        entry = wait_for_log(live_db, within=10)

    assert freed_after < STALL_TIMEOUT + 5
    assert entry == (
        f"aborted {engine} client stalled: took no data for {STALL_TIMEOUT:g} s, "
        "so the export was ended"
    )
