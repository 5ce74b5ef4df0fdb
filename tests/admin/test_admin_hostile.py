"""The admin's export against hostile input: unrepresentable filter values, formats not offered."""

from __future__ import annotations

import pytest
from django.contrib import admin

from exports.admin import export_action
from exports.models import ExportLog
from exportsite.shop.models import Order

pytestmark = pytest.mark.django_db

EXPORT = "/admin/shop/order/export/"
CHANGELIST = "/admin/shop/order/"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            "total_cents__in=1,99999999999999999999999",
            'Bad filter "total_cents__in=1,99999999999999999999999": "99999999999999999999999" '
            "is out of range for this field (-9223372036854775808 to 9223372036854775807).",
            id="int-in-list",
        ),
        pytest.param(
            "created_at__gte=0001-01-01T00:00:00%2B14:00",
            'Bad filter "created_at__gte=0001-01-01T00:00:00+14:00": '
            '"0001-01-01T00:00:00+14:00" is out of range once converted to UTC.',
            id="datetime",
        ),
        pytest.param(
            "status__exact=pa%00id",
            'Bad filter "status__exact=pa\\x00id": the value contains a NUL character (\\x00), '
            "which the database cannot store or compare.",
            id="nul-filter",
        ),
        pytest.param(
            "q=%00",
            'Bad parameter "q=\\x00": the value contains a NUL character (\\x00), which the '
            "database cannot store or compare.",
            id="nul-search",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["_export_format=csv&", ""], ids=["export", "picker"])
def test_unrepresentable_changelist_values_are_400(client, exporter, orders, query, message, fmt):
    client.force_login(exporter)

    response = client.get(f"{EXPORT}?{fmt}{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == message
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize(("query", "rows"), [("created_at__year=2024", 3), ("is_gift__exact=1", 0)])
def test_lookups_outside_this_apps_vocabulary_are_left_to_the_changelist(
    client, exporter, orders, streamed, query, rows
):
    client.force_login(exporter)

    # __year is the admin's (date hierarchy), not one of the filter lookups this app reads.
    response = client.get(f"{EXPORT}?_export_format=csv&{query}")

    assert response.status_code == 200
    assert streamed(response).count(b"\n") == 1 + rows


@pytest.mark.parametrize(
    "query",
    ["created_at__year=10000", "created_at__year=0", "created_at__iso_year=-1"],
)
@pytest.mark.parametrize("fmt", ["_export_format=csv&", ""], ids=["export", "picker"])
def test_lookups_the_changelist_cannot_run_are_400(client, exporter, orders, query, fmt):
    client.force_login(exporter)

    response = client.get(f"{EXPORT}?{fmt}{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    error = response.content.decode()
    assert error.startswith(f'Bad changelist parameters "{query}": ')
    assert "out of range" in error.lower()
    assert not ExportLog.objects.exists()


@pytest.fixture
def csv_only(monkeypatch):
    monkeypatch.setattr(admin.site._registry[Order], "export_formats", ("csv",))


def test_export_formats_limit_the_export_view(client, exporter, orders, csv_only):
    client.force_login(exporter)

    response = client.get(EXPORT, {"_export_format": "jsonl"})

    assert response.status_code == 400
    assert response.content.decode() == (
        'Format "jsonl" is not offered for shop.Order; choose one of: csv.'
    )
    assert not ExportLog.objects.exists()


def test_export_formats_limit_actions_declared_by_hand(client, exporter, orders, monkeypatch):
    order_admin = admin.site._registry[Order]
    monkeypatch.setattr(order_admin, "export_formats", ("csv",))
    monkeypatch.setattr(order_admin, "actions", [export_action("jsonl")])
    client.force_login(exporter)
    data = {"action": "export_selected_jsonl", "index": "0", "_selected_action": ["1"]}

    response = client.post(CHANGELIST, data, follow=True)

    assert response.streaming is False
    assert [str(m) for m in response.context["messages"]] == [
        'Format "jsonl" is not offered for shop.Order; choose one of: csv.'
    ]
    assert not ExportLog.objects.exists()


def test_export_formats_set_the_button(client, exporter, orders, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Order], "export_formats", ("jsonl", "csv"))
    client.force_login(exporter)

    html = client.get(CHANGELIST).content.decode()

    assert 'href="/admin/shop/order/export/?_export_format=jsonl"' in html
    assert "Export selected orders as JSON Lines" in html
    assert "Export selected orders as TSV" not in html
