"""The admin: export actions, "Export all N matching", the column picker, the audit log."""

from __future__ import annotations

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.models import ExportLog
from exportsite.shop.models import Order
from tests.accounts import make_user
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/shop/order/"
EXPORT = "/admin/shop/order/export/"
HEADER = (
    b"id,customer_id,customer__email,status,total_cents,currency,discount,is_gift,created_at,"
    b"shipped_on,note,reference,metadata\n"
)


@pytest.fixture
def viewer(db):
    return make_user("viewer", perms=("shop.view_order",))


def ids(body: bytes) -> list[int]:
    return [int(line.split(b",")[0]) for line in body.splitlines()[1:]]


def run_action(client, action, *, selected=(), across=False, query=""):
    data = {"action": action, "index": "0", "_selected_action": [str(pk) for pk in selected]}
    if across:
        data["select_across"] = "1"
    return client.post(CHANGELIST + query, data)


# The changelist ----------------------------------------------------------------------------


def test_changelist_offers_actions_and_button_to_exporters(client, exporter, orders):
    client.force_login(exporter)
    response = client.get(CHANGELIST, {"status__exact": "paid", "q": "alice"})
    html = response.content.decode()
    assert "Export selected orders as CSV" in html
    assert "Export selected orders as TSV" in html
    assert "Export selected orders as JSON Lines" in html
    assert "Export all 2 matching" in html
    assert (
        'href="/admin/shop/order/export/?_export_format=csv&amp;q=alice&amp;status__exact=paid"'
        in html
    )


def test_changelist_hides_export_from_viewers(client, viewer, orders):
    client.force_login(viewer)
    html = client.get(CHANGELIST).content.decode()
    assert "Export selected" not in html
    assert "Export all" not in html


# The actions -------------------------------------------------------------------------------


def test_action_exports_exactly_the_selected_rows(client, exporter, orders, streamed):
    client.force_login(exporter)
    response = run_action(client, "export_selected_csv", selected=[1, 3])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    body = streamed(response)
    assert body.startswith(HEADER)
    assert ids(body) == [1, 3]
    # Formulas are neutralised in the admin too.
    assert b",'=1+2," in body and b",'@SUM(A1)," in body
    log = ExportLog.objects.get()
    assert (log.source, log.status, log.rows, log.filters) == (
        "admin_action",
        "completed",
        2,
        [["selected", "2"]],
    )


def test_action_jsonl(client, exporter, orders, streamed):
    client.force_login(exporter)
    response = run_action(client, "export_selected_jsonl", selected=[2])
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert streamed(response).startswith(b'{"id": 2, "customer_id": 2, "customer__email": "bob')


def test_select_across_exports_the_filtered_queryset_without_primary_keys(
    client, exporter, orders, streamed
):
    # Explicit ids: the fixture's rows did not move PostgreSQL's sequence.
    customer = orders[0].customer
    OrderFactory.create_batch(240, id=factory.Iterator(range(100, 340)), customer=customer)
    OrderFactory.create_batch(
        30, id=factory.Iterator(range(400, 430)), status="cancelled", customer=customer
    )
    paid = list(Order.objects.filter(status="paid").order_by("pk").values_list("pk", flat=True))
    client.force_login(exporter)
    with CaptureQueriesContext(connection) as queries:
        # The page shows 100 rows; only one is ticked, "select all 242" is on.
        response = run_action(
            client,
            "export_selected_csv",
            selected=[paid[0]],
            across=True,
            query="?status__exact=paid",
        )
        body = streamed(response)
    # The changelist's filter and ordering, every matching row.
    assert ids(body) == paid
    assert len(paid) == 242
    in_lists = [q["sql"] for q in queries.captured_queries if '"shop_order"."id" IN (' in q["sql"]]
    assert in_lists == []
    assert ExportLog.objects.get().filters == [["selected", "all matching"]]


def test_viewer_cannot_run_the_action(client, viewer, orders):
    client.force_login(viewer)
    response = run_action(client, "export_selected_csv", selected=[1])
    assert response.status_code == 200  # the changelist again: no such action for them
    assert response.streaming is False
    assert not ExportLog.objects.exists()


# "Export all N matching" and the picker ----------------------------------------------------


def test_export_all_keeps_filters_search_and_ordering(client, exporter, orders, streamed):
    client.force_login(exporter)
    query = {"status__exact": "paid", "q": "alice@example.com", "o": "-1", "_export_format": "csv"}
    response = client.get(EXPORT, query)
    assert response.status_code == 200
    body = streamed(response)
    assert ids(body) == [3, 1]
    log = ExportLog.objects.get()
    assert (log.source, log.rows) == ("admin_changelist", 2)
    assert log.filters == [["status__exact", "paid"], ["q", "alice@example.com"], ["o", "-1"]]


def test_export_all_picks_fields_format_and_bom(client, exporter, orders, streamed):
    client.force_login(exporter)
    response = client.get(
        EXPORT
        + "?customer__id__exact=2&_export_format=tsv&_export_fields=id&_export_fields=note"
        + "&_export_bom=0&_export_bom=1"
    )
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert streamed(response) == b'\xef\xbb\xbfid\tnote\n2\t"He said ""hi"", then left"\n'


def test_picker_form(client, exporter, orders):
    client.force_login(exporter)
    response = client.get(EXPORT, {"status__exact": "paid", "p": "2"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 orders match" in html
    assert '<input type="hidden" name="status__exact" value="paid">' in html
    assert 'name="p"' not in html
    assert html.count('name="_export_fields"') == 13
    assert '<input type="radio" name="_export_format" value="csv" checked>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("_export_format=csv&_export_fields=customer__name", 'Field "customer__name" is not'),
        (
            "_export_format=xls",
            'Format "xls" is not offered for shop.Order; choose one of: csv, tsv, jsonl, xlsx.',
        ),
        ("_export_format=csv&_export_bom=maybe", 'Bad parameter "_export_bom=maybe": use 1 or 0.'),
        ("_export_format=csv&nope=1", "Bad changelist parameters"),
    ],
)
def test_export_all_bad_requests(client, exporter, orders, query, message):
    client.force_login(exporter)
    response = client.get(EXPORT + "?" + query)
    assert response.status_code == 400
    assert response.content.decode().startswith(message)
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize(
    "perms",
    [("shop.view_order",), ("shop.export_order",), ()],
    ids=["view-only", "export-only", "none"],
)
def test_export_all_needs_view_and_export(client, orders, perms):
    client.force_login(make_user("someone", perms=perms))
    assert client.get(EXPORT, {"_export_format": "csv"}).status_code == 403


def test_export_all_sends_anonymous_users_to_login(client, orders):
    response = client.get(EXPORT, {"_export_format": "csv"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_customer_admin_too(client, orders, streamed):
    client.force_login(make_user("c", perms=("shop.view_customer", "shop.export_customer")))
    query = "_export_format=csv&_export_fields=id,email,country&o=-1"
    response = client.get("/admin/shop/customer/export/?" + query)
    assert streamed(response) == (
        b"id,email,country\n2,bob@example.com,FR\n1,alice@example.com,DE\n"
    )


# The audit log in the admin ----------------------------------------------------------------


def test_audit_log_is_read_only(client, exporter, orders, streamed):
    client.force_login(exporter)
    streamed(client.get("/exports/shop/order.csv", {"fields": "id"}))
    boss = make_user("boss", is_superuser=True)
    client.force_login(boss)
    log = ExportLog.objects.get()
    listing = client.get("/admin/exports/exportlog/")
    assert listing.status_code == 200
    assert "exporter" in listing.content.decode()
    assert client.get("/admin/exports/exportlog/add/").status_code == 403
    detail = client.get(f"/admin/exports/exportlog/{log.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.post(f"/admin/exports/exportlog/{log.pk}/delete/").status_code == 403
    assert ExportLog.objects.count() == 1


def test_action_under_asgi_streams_an_async_iterator(exporter, orders):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def run():
        client = AsyncClient()
        await client.aforce_login(exporter)
        data = {"action": "export_selected_csv", "index": "0", "_selected_action": ["2"]}
        response = await client.post(CHANGELIST, data)
        assert response.is_async is True
        return b"".join([chunk async for chunk in response.streaming_content])

    body = async_to_sync(run)()
    assert body.startswith(HEADER)
    assert ids(body) == [2]
