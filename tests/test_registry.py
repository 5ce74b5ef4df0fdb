"""Declarations (exports/registry.py): the per-request ``queryset`` hook, in the download view
and in every admin export (action, "Export all", picker).
"""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group

from exports import registry
from exports.models import ExportLog
from exportsite.shop.models import Order
from tests.accounts import ORDER_EXPORTER, make_user

pytestmark = pytest.mark.django_db

DOWNLOAD = "/exports/shop/order.csv"
CHANGELIST = "/admin/shop/order/"
EXPORT = "/admin/shop/order/export/"


def own_orders(request, queryset):
    """A site where staff see only the orders of the customer sharing their e-mail address."""
    return queryset.filter(customer__email=request.user.email)


@pytest.fixture
def restricted(monkeypatch):
    entry = dataclasses.replace(registry.get(Order), queryset=own_orders)
    monkeypatch.setitem(registry._registry, Order, entry)
    return entry


@pytest.fixture
def alice(db):
    user = make_user("alice", perms=ORDER_EXPORTER)
    user.email = "alice@example.com"
    user.save()
    return user


def ids(body: bytes) -> list[int]:
    return [int(line.split(b",")[0]) for line in body.splitlines()[1:]]


def test_download_gives_only_the_rows_the_hook_leaves(client, alice, orders, restricted, streamed):
    client.force_login(alice)

    response = client.get(DOWNLOAD, {"fields": "id"})

    assert streamed(response) == b"id\n1\n3\n"
    assert ExportLog.objects.get().rows == 2


def test_download_filters_apply_within_the_hook(client, alice, orders, restricted, streamed):
    client.force_login(alice)

    response = client.get(DOWNLOAD, {"fields": "id", "total_cents__lt": "2000"})

    assert streamed(response) == b"id\n1\n"


def test_without_a_hook_every_row(client, alice, orders, streamed):
    client.force_login(alice)

    assert streamed(client.get(DOWNLOAD, {"fields": "id"})) == b"id\n1\n2\n3\n"


def test_admin_export_all_applies_the_hook(client, alice, orders, restricted, streamed):
    client.force_login(alice)

    response = client.get(EXPORT, {"_export_format": "csv", "_export_fields": "id"})

    assert streamed(response) == b"id\n1\n3\n"


@pytest.mark.parametrize("across", [True, False], ids=["select-across", "selected"])
def test_admin_action_applies_the_hook(client, alice, orders, restricted, streamed, across):
    client.force_login(alice)
    data = {"action": "export_selected_csv", "index": "0", "_selected_action": ["1", "2", "3"]}
    if across:
        data["select_across"] = "1"

    response = client.post(CHANGELIST, data)

    assert ids(streamed(response)) == [1, 3]


def test_admin_counts_only_the_rows_the_hook_leaves(client, alice, orders, restricted):
    client.force_login(alice)

    assert "Export all 2 matching" in client.get(CHANGELIST).content.decode()
    assert "2 orders match" in client.get(EXPORT).content.decode()


def test_admin_get_queryset_and_the_hook_both_apply(
    client, alice, orders, restricted, streamed, monkeypatch
):
    order_admin = admin.site._registry[Order]
    monkeypatch.setattr(
        order_admin,
        "get_queryset",
        lambda request: Order.objects.filter(status="paid", id__gt=1),
    )
    client.force_login(alice)

    response = client.get(EXPORT, {"_export_format": "csv", "_export_fields": "id"})

    assert streamed(response) == b"id\n3\n"


def test_a_hook_must_return_a_queryset_of_the_model(rf, alice, monkeypatch):
    entry = dataclasses.replace(registry.get(Order), queryset=lambda request, qs: list(qs))
    request = rf.get("/")
    request.user = alice

    with pytest.raises(TypeError) as excinfo:
        entry.restrict(request, Order.objects.all())

    assert excinfo.value.args == (
        "The queryset hook of shop.Order must return a QuerySet of shop.Order "
        "(queryset.filter(...)), not list.",
    )


def test_register_keeps_the_hook():
    try:
        entry = registry.register(Group, fields=["id", "name"], queryset=own_orders)
        assert registry.get(Group).queryset is own_orders is entry.queryset
    finally:
        registry.unregister(Group)
