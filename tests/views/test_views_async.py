"""The download view under ASGI (Django's AsyncClient): an asynchronous iterator, same bytes.

The tests are synchronous functions driving the async client through ``async_to_sync``, as
Django's own test runner does, so the view's thread-sensitive code runs in the test's thread
and sees the test's transaction.
"""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import OperationalError
from django.test import AsyncClient

from exports.http import CLIENT_WENT_AWAY
from exports.models import ExportLog
from tests.accounts import make_user

from .test_views import FIELDS, PAID_BODY, URL, failing_database  # noqa: F401

pytestmark = pytest.mark.django_db


async def joined(response) -> bytes:
    assert response.streaming is True
    return b"".join([chunk async for chunk in response.streaming_content])


def get(user, url, query=None):
    """``(response, body or None)`` for a GET through the ASGI handler."""

    async def run():
        client = AsyncClient()
        if user is not None:
            await client.aforce_login(user)
        response = await client.get(url, query or {})
        body = await joined(response) if response.streaming else None
        return response, body

    return async_to_sync(run)()


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param(None, 302, id="anonymous"),
        pytest.param({"perms": ("shop.view_order", "shop.export_order")}, 200, id="allowed"),
        pytest.param({"perms": ("shop.view_order",)}, 403, id="view-only"),
        pytest.param({"perms": ("shop.export_order",)}, 403, id="export-only"),
        pytest.param({"is_superuser": True, "is_staff": False}, 403, id="not-staff"),
    ],
)
def test_permission_cases(orders, kwargs, status):
    user = None if kwargs is None else make_user("someone", **kwargs)
    response, _ = get(user, URL, {"fields": "id"})
    assert response.status_code == status


@pytest.mark.parametrize(
    ("url", "query", "status"),
    [
        ("/exports/auth/user.csv", {}, 404),
        ("/exports/shop/order.xml", {}, 404),
        (URL, {"fields": "id,customer__name"}, 400),
        (URL, {"note": "x"}, 400),
        (URL, {"id": "abc"}, 400),
    ],
)
def test_errors(exporter, orders, url, query, status):
    response, _ = get(exporter, url, query)
    assert response.status_code == status
    assert not ExportLog.objects.exists()


def test_streams_an_async_iterator_with_the_same_bytes(exporter, orders):
    response, body = get(exporter, URL, {"fields": FIELDS, "status": "paid"})
    assert response.status_code == 200
    assert response.is_async is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert response["Cache-Control"] == "no-store"
    assert response["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response
    assert body == PAID_BODY
    log = ExportLog.objects.get()
    assert (log.status, log.rows, log.bytes_sent, log.username) == (
        "completed",
        2,
        len(PAID_BODY),
        "exporter",
    )


def test_bom_and_jsonl(exporter, orders):
    response, body = get(exporter, "/exports/shop/order.jsonl", {"fields": "id", "bom": "1"})
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert body == b'\xef\xbb\xbf{"id": 1}\n{"id": 2}\n{"id": 3}\n'


def test_database_error_mid_stream_aborts(exporter, orders, failing_database, caplog):  # noqa: F811
    received = []

    async def run():
        client = AsyncClient()
        await client.aforce_login(exporter)
        response = await client.get(URL, {"fields": "id"})
        assert response.status_code == 200
        async for chunk in response.streaming_content:
            received.append(chunk)

    with caplog.at_level(logging.ERROR, logger="exports.http"), pytest.raises(OperationalError):
        async_to_sync(run)()
    assert received == [b"id\n", b"1\n"]
    log = ExportLog.objects.get()
    assert (log.status, log.rows) == ("aborted", 1)
    assert "exporter" in caplog.text and "shop.Order" in caplog.text


def test_client_gone_mid_stream_is_recorded_as_aborted(exporter, orders, settings):
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 1}

    async def run():
        client = AsyncClient()
        await client.aforce_login(exporter)
        response = await client.get(URL, {"fields": "id"})
        chunks = aiter(response.streaming_content)
        assert await anext(chunks) == b"id\n"
        assert await anext(chunks) == b"1\n"
        # What Django's ASGI handler does after a disconnect: close() in a sync thread.
        stream = response._resource_closers[0].__self__
        await sync_to_async(stream.close)()

    async_to_sync(run)()
    log = ExportLog.objects.get()
    assert (log.status, log.rows, log.error) == ("aborted", 1, CLIENT_WENT_AWAY)
