"""Downloads from real servers on loopback, as a browser or curl gets them.

gunicorn (WSGI) and uvicorn (ASGI) serve the demo project; httpx logs into the admin as a
staff user holding ``view_order`` and ``export_order`` and downloads 100,000 orders.
"""

from __future__ import annotations

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
    with psycopg.connect(live_db.url, autocommit=True) as monitor:
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
