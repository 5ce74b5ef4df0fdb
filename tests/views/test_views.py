"""The download view through Django's (WSGI) test client: every check, the headers, the body."""

from __future__ import annotations

import datetime as dt
import logging
from unittest import mock

import pytest
from django.core.signals import request_finished
from django.db import OperationalError
from django.utils import timezone

from exports.http import CLIENT_WENT_AWAY
from exports.models import ExportLog
from exports.stream import Export
from tests.accounts import ORDER_EXPORTER, make_user

pytestmark = pytest.mark.django_db

URL = "/exports/shop/order.csv"
FIELDS = "id,status,total_cents,note,customer__email"
NOW = dt.datetime(2024, 5, 1, 12, 30, 45, tzinfo=dt.UTC)

PAID_BODY = (
    b"id,status,total_cents,note,customer__email\n"
    b"1,paid,1250,'=1+2,alice@example.com\n"
    b"3,paid,5000,'@SUM(A1),alice@example.com\n"
)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def disconnect(response):
    """Close the response as a WSGI server does when the client goes away.

    Without ``request_finished``, whose ``close_old_connections`` would close the test's
    connection in the middle of its transaction (the test client's own closing wrapper
    reconnects it while closing).
    """
    with mock.patch.object(request_finished, "send"):
        response.close()


def login(client, user):
    client.force_login(user)
    return client


# Who may download -------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_admin_login(client, orders):
    response = client.get(URL, {"fields": "id"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/exports/shop/order.csv%3Ffields%3Did"


def test_anonymous_learns_nothing_about_undeclared_models(client):
    response = client.get("/exports/auth/user.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({"perms": ORDER_EXPORTER}, 200, id="view+export"),
        pytest.param({"perms": ORDER_EXPORTER, "is_staff": False}, 403, id="not-staff"),
        pytest.param({"perms": ("shop.view_order",)}, 403, id="view-only"),
        pytest.param({"perms": ("shop.export_order",)}, 403, id="export-only"),
        pytest.param({"perms": ("shop.change_order",)}, 403, id="change-only"),
        pytest.param(
            {"perms": ("shop.view_customer", "shop.export_customer")}, 403, id="other-model"
        ),
        pytest.param({}, 403, id="staff-no-perms"),
        pytest.param({"is_superuser": True}, 200, id="superuser"),
        pytest.param({"is_superuser": True, "is_staff": False}, 403, id="superuser-not-staff"),
    ],
)
def test_permission_cases(client, orders, kwargs, status):
    login(client, make_user("someone", **kwargs))
    response = client.get(URL, {"fields": "id"})
    assert response.status_code == status
    assert response.streaming is (status == 200)


def test_inactive_staff_is_refused(client, orders, settings):
    # The default backend never authenticates inactive users (they are anonymous, sent to the
    # login); with one that does, the view itself refuses them.
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    login(client, make_user("gone", perms=ORDER_EXPORTER, is_active=False))
    assert client.get(URL).status_code == 403


def test_inactive_staff_with_the_default_backend_is_anonymous(client, orders):
    login(client, make_user("gone", perms=ORDER_EXPORTER, is_active=False))
    assert client.get(URL).status_code == 302


def test_export_permission_created_for_declared_models_only():
    from django.contrib.auth.models import Permission

    names = set(
        Permission.objects.filter(codename__startswith="export_").values_list(
            "content_type__app_label", "codename", "name"
        )
    )
    assert names == {
        ("shop", "export_order", "Can export order"),
        ("shop", "export_customer", "Can export customer"),
    }


# What does not exist -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/exports/auth/user.csv", id="undeclared-model"),
        pytest.param("/exports/shop/nothing.csv", id="unknown-model"),
        pytest.param("/exports/nope/order.csv", id="unknown-app"),
        pytest.param("/exports/shop/order.xls", id="unknown-format"),
        pytest.param("/exports/shop/order.csv.gz", id="compound-suffix"),
        pytest.param("/exports/shop/order", id="no-format"),
        pytest.param("/exports/shop/order.", id="empty-format"),
    ],
)
def test_not_found(client, exporter, url):
    login(client, exporter)
    assert client.get(url).status_code == 404
    assert not ExportLog.objects.exists()


def test_staff_without_permission_on_an_undeclared_model_gets_404_not_403(client):
    login(client, make_user("staff"))
    assert client.get("/exports/auth/user.csv").status_code == 404


# Bad requests ------------------------------------------------------------------------------

ORDER_FIELDS = (
    "id, customer_id, customer__email, status, total_cents, currency, discount, is_gift, "
    "created_at, shipped_on, note, reference, metadata"
)
ORDER_FILTERS = (
    "id, status, currency, is_gift, created_at, shipped_on, total_cents, customer__email, "
    "customer__country"
)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            {"fields": "id,customer__name"},
            f'Field "customer__name" is not exportable from shop.Order; choose from: '
            f"{ORDER_FIELDS}.",
            id="undeclared-field",
        ),
        pytest.param(
            {"fields": "id,nope"},
            f'Field "nope" is not exportable from shop.Order; choose from: {ORDER_FIELDS}.',
            id="unknown-field",
        ),
        pytest.param({"fields": "id,,status"}, 'Empty field name in "id,,status".', id="empty"),
        pytest.param({"fields": "id,id"}, 'Field "id" is asked for more than once.', id="dup"),
        pytest.param(
            {"note": "x"},
            f'Filter "note" is not allowed on shop.Order; filter on: {ORDER_FILTERS}.',
            id="undeclared-filter",
        ),
        pytest.param(
            {"customer__name__icontains": "a"},
            f'Filter "customer__name__icontains" is not allowed on shop.Order; filter on: '
            f"{ORDER_FILTERS}.",
            id="undeclared-related-filter",
        ),
        pytest.param(
            {"status__regex": "p.*"},
            f'Filter "status__regex" is not allowed on shop.Order; filter on: {ORDER_FILTERS}.',
            id="unsupported-lookup",
        ),
        pytest.param({"id": "abc"}, 'Bad filter "id=abc": "abc" is not an integer.', id="int"),
        pytest.param(
            {"is_gift": "perhaps"},
            'Bad filter "is_gift=perhaps": "perhaps" is not a boolean (true or false).',
            id="bool",
        ),
        pytest.param(
            {"total_cents__range": "1"},
            'Bad filter "total_cents__range=1": a range needs two values separated by a comma.',
            id="range",
        ),
        pytest.param({"bom": "maybe"}, 'Bad parameter "bom=maybe": use 1 or 0.', id="bom"),
    ],
)
def test_bad_request_names_the_problem(client, exporter, orders, query, message):
    login(client, exporter)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == message
    assert not ExportLog.objects.exists()


def test_bad_datetime_filter(client, exporter, orders):
    login(client, exporter)
    response = client.get(URL, {"created_at__gte": "yesterday"})
    assert response.status_code == 400
    assert response.content.decode().startswith('Bad filter "created_at__gte=yesterday": ')


# Values that parse but that the column cannot hold: 400 before the first byte, on both
# backends, nothing logged (a NUL would not even fit the audit log's JSON on PostgreSQL).
UNREPRESENTABLE = [
    pytest.param(
        "total_cents__in=1,99999999999999999999999",
        'Bad filter "total_cents__in=1,99999999999999999999999": "99999999999999999999999" is '
        "out of range for this field (-9223372036854775808 to 9223372036854775807).",
        id="int-in-list",
    ),
    pytest.param(
        "created_at__gte=0001-01-01T00:00:00%2B14:00",
        'Bad filter "created_at__gte=0001-01-01T00:00:00+14:00": "0001-01-01T00:00:00+14:00" '
        "is out of range once converted to UTC.",
        id="datetime-low",
    ),
    pytest.param(
        "created_at__lt=9999-12-31T23:59:59-14:00",
        'Bad filter "created_at__lt=9999-12-31T23:59:59-14:00": "9999-12-31T23:59:59-14:00" '
        "is out of range once converted to UTC.",
        id="datetime-high",
    ),
    pytest.param(
        "status=pa%00id",
        'Bad filter "status=pa\\x00id": the value contains a NUL character (\\x00), which the '
        "database cannot store or compare.",
        id="nul",
    ),
    pytest.param(
        "customer__email__icontains=%00",
        'Bad filter "customer__email__icontains=\\x00": the value contains a NUL character '
        "(\\x00), which the database cannot store or compare.",
        id="nul-text-lookup",
    ),
]


@pytest.mark.parametrize(("query", "message"), UNREPRESENTABLE)
def test_values_the_column_cannot_hold_are_400(client, exporter, orders, query, message):
    login(client, exporter)
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.content.decode() == message
    assert not ExportLog.objects.exists()


def test_only_get(client, exporter, orders):
    login(client, exporter)
    assert client.post(URL).status_code == 405


# The response ------------------------------------------------------------------------------


def test_headers(client, exporter, orders, streamed):
    login(client, exporter)
    response = client.get(URL, {"fields": "id"})
    assert response.status_code == 200
    assert response.streaming is True
    assert response.is_async is False
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders-20240501-123045.csv"'
    assert response["Cache-Control"] == "no-store"
    assert response["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response
    assert streamed(response) == b"id\n1\n2\n3\n"


@pytest.mark.parametrize(
    ("fmt", "content_type", "body"),
    [
        ("csv", "text/csv; charset=utf-8", b"id,status\n2,shipped\n"),
        ("tsv", "text/tab-separated-values; charset=utf-8", b"id\tstatus\n2\tshipped\n"),
        ("jsonl", "application/jsonl; charset=utf-8", b'{"id": 2, "status": "shipped"}\n'),
    ],
)
def test_formats(client, exporter, orders, streamed, fmt, content_type, body):
    login(client, exporter)
    response = client.get(f"/exports/shop/order.{fmt}", {"fields": "id,status", "id": "2"})
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="orders-20240501-123045.{fmt}"'
    )
    assert streamed(response) == body


def test_exact_body_with_filters_and_formula_guard(client, exporter, orders, streamed):
    login(client, exporter)
    response = client.get(URL, {"fields": FIELDS, "status": "paid"})
    assert streamed(response) == PAID_BODY


def test_default_fields_are_the_declared_ones(client, exporter, orders, streamed):
    login(client, exporter)
    body = streamed(client.get(URL, {"id": "2"}))
    assert body.splitlines()[0] == ORDER_FIELDS.replace(" ", "").encode()
    assert body.splitlines()[1] == (
        b"2,2,bob@example.com,shipped,99,EUR,,false,2024-03-01T12:00:02.000000+00:00,,"
        b'"He said ""hi"", then left",00000000-0000-4000-8000-000000000002,{}'
    )


@pytest.mark.parametrize(
    ("pk", "line"),
    [
        pytest.param("1", b"1,'=1+2", id="equals"),
        pytest.param("3", b"3,'@SUM(A1)", id="at"),
        pytest.param("2", b'2,"He said ""hi"", then left"', id="plain"),
    ],
)
def test_formula_guard_on_by_default(client, exporter, orders, streamed, pk, line):
    login(client, exporter)
    response = client.get(URL, {"fields": "id,note", "id": pk})
    assert streamed(response) == b"id,note\n" + line + b"\n"


def test_formula_guard_off_by_setting(client, exporter, orders, settings, streamed):
    settings.EXPORTS = {**settings.EXPORTS, "HTTP_ESCAPE_FORMULAS": False}
    login(client, exporter)
    response = client.get(URL, {"fields": "id,note", "status": "paid"})
    assert streamed(response) == b"id,note\n1,=1+2\n3,@SUM(A1)\n"


def test_formula_guard_jsonl(client, exporter, orders, streamed):
    login(client, exporter)
    response = client.get("/exports/shop/order.jsonl", {"fields": "id,note", "id": "1"})
    assert streamed(response) == b'{"id": 1, "note": "\'=1+2"}\n'


@pytest.mark.parametrize(
    ("setting", "param", "bom"),
    [
        (False, None, False),
        (False, "1", True),
        (False, "true", True),
        (True, None, True),
        (True, "0", False),
    ],
)
def test_bom(client, exporter, orders, settings, streamed, setting, param, bom):
    settings.EXPORTS = {**settings.EXPORTS, "HTTP_BOM": setting}
    login(client, exporter)
    query = {"fields": "id", "id": "1"} | ({"bom": param} if param else {})
    body = streamed(client.get(URL, query))
    assert body == (b"\xef\xbb\xbf" if bom else b"") + b"id\n1\n"


def test_repeated_filters_are_anded(client, exporter, orders, streamed):
    login(client, exporter)
    response = client.get(URL + "?fields=id&total_cents__gte=100&total_cents__lte=2000")
    assert streamed(response) == b"id\n1\n"


def test_related_and_range_filters(client, exporter, orders, streamed):
    login(client, exporter)
    query = {"fields": "id", "customer__country": "DE", "total_cents__range": "1000,9000"}
    assert streamed(client.get(URL, query)) == b"id\n1\n3\n"


def test_non_ascii_filename(client, exporter, orders, monkeypatch, streamed):
    from exportsite.shop.models import Order

    monkeypatch.setattr(Order._meta, "verbose_name_plural", "Bestellungen für Kunden")
    login(client, exporter)
    response = client.get(URL, {"fields": "id", "id": "1"})
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''bestellungen-f%C3%BCr-kunden-20240501-123045.csv"
    )
    streamed(response)


# Audit -------------------------------------------------------------------------------------


def test_completed_export_is_recorded(client, exporter, orders, streamed):
    login(client, exporter)
    body = streamed(client.get(URL, {"fields": FIELDS, "status": "paid"}))
    log = ExportLog.objects.get()
    assert (log.user, log.username, log.model, log.source, log.format) == (
        exporter,
        "exporter",
        "shop.Order",
        "download",
        "csv",
    )
    assert log.fields == FIELDS.split(",")
    assert log.filters == [["status", "paid"]]
    assert (
        log.query_string == "fields=id%2Cstatus%2Ctotal_cents%2Cnote%2Ccustomer__email&status=paid"
    )
    assert (log.status, log.rows, log.bytes_sent, log.error) == ("completed", 2, len(body), "")
    assert log.seconds is not None and log.finished_at == NOW and log.started_at == NOW


def test_client_gone_mid_stream_is_recorded_as_aborted(client, exporter, orders, settings):
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 1}
    login(client, exporter)
    response = client.get(URL, {"fields": "id"})
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"id\n"
    assert next(chunks) == b"1\n"
    disconnect(response)
    log = ExportLog.objects.get()
    assert (log.status, log.rows, log.bytes_sent, log.error) == ("aborted", 1, 5, CLIENT_WENT_AWAY)


def test_client_gone_before_the_first_byte_is_recorded(client, exporter, orders):
    login(client, exporter)
    disconnect(client.get(URL))
    assert ExportLog.objects.get().status == "aborted"


# Failure after the first byte --------------------------------------------------------------


@pytest.fixture
def failing_database(monkeypatch, settings):
    """The database fails after the first batch, whatever the engine."""
    settings.EXPORTS = {**settings.EXPORTS, "CHUNK_SIZE": 1}
    real = Export._chunks

    def fail_after_first(self):
        chunks = real(self)
        try:
            yield next(chunks)
            raise OperationalError("terminating connection due to administrator command")
        finally:
            chunks.close()

    monkeypatch.setattr(Export, "_chunks", fail_after_first)


def test_database_error_mid_stream_aborts(client, exporter, orders, failing_database, caplog):
    login(client, exporter)
    response = client.get(URL, {"fields": "id"})
    assert response.status_code == 200
    received = []
    with caplog.at_level(logging.ERROR, logger="exports.http"), pytest.raises(OperationalError):
        for chunk in response.streaming_content:  # noqa: PERF402
            received.append(chunk)
    # The exception reaches the server, which drops the connection: no clean end, and no
    # error text in the data.
    assert received == [b"id\n", b"1\n"]
    log = ExportLog.objects.get()
    assert (log.status, log.rows) == ("aborted", 1)
    assert log.error == "OperationalError: terminating connection due to administrator command"
    [record] = [r for r in caplog.records if r.name == "exports.http"]
    assert record.getMessage() == (
        "Export of shop.Order for exporter aborted after 1 rows (5 bytes): "
        "terminating connection due to administrator command"
    )


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("orders.csv", 'attachment; filename="orders.csv"'),
        ("../etc/passwd", 'attachment; filename="etcpasswd"'),
        ('a"b\\\r\nSet-Cookie: x;y.csv', 'attachment; filename="abSet-Cookie: xy.csv"'),
        ("...", 'attachment; filename="export"'),
        ("naïve.csv", "attachment; filename*=utf-8''na%C3%AFve.csv"),
    ],
    ids=["plain", "path", "header-injection", "dots", "non-ascii"],
)
def test_attachment_header_is_a_plain_file_name(name, header):
    from exports.http import attachment_header

    assert attachment_header(name) == header
