"""Model labels and field paths, resolved before any query."""

from __future__ import annotations

import pytest

from exports.columns import get_model, parse_field_list, resolve_columns, resolve_path
from exports.errors import ExportError
from exportsite.shop.models import Customer, Order


@pytest.mark.parametrize("label", ["shop.Order", "shop.order", "SHOP.ORDER"])
def test_get_model_is_case_insensitive(label):
    assert get_model(label) is Order


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (
            "shop.Nope",
            'Unknown model "shop.Nope": use app_label.ModelName, for example shop.Order.',
        ),
        (
            "nope.Order",
            'Unknown model "nope.Order": use app_label.ModelName, for example shop.Order.',
        ),
        ("Order", 'Bad model "Order": use app_label.ModelName, for example shop.Order.'),
        ("shop.", 'Bad model "shop.": use app_label.ModelName, for example shop.Order.'),
        (".Order", 'Bad model ".Order": use app_label.ModelName, for example shop.Order.'),
        ("a.b.c", 'Bad model "a.b.c": use app_label.ModelName, for example shop.Order.'),
    ],
)
def test_get_model_errors(label, message):
    with pytest.raises(ExportError) as excinfo:
        get_model(label)

    assert excinfo.value.args == (message,)


@pytest.mark.parametrize(
    ("path", "model", "name"),
    [
        ("id", Order, "id"),
        ("pk", Order, "id"),
        ("customer", Order, "customer"),
        ("customer_id", Order, "customer"),
        ("customer__email", Customer, "email"),
        ("customer__pk", Customer, "id"),
    ],
)
def test_resolve_path(path, model, name):
    assert resolve_path(Order, path) is model._meta.get_field(name)


@pytest.mark.parametrize(
    ("model", "path", "message"),
    [
        (Order, "nope", 'Unknown field "nope" on shop.Order (in field path "nope").'),
        (
            Order,
            "customer__nope",
            'Unknown field "nope" on shop.Customer (in field path "customer__nope").',
        ),
        (
            Order,
            "status__email",
            'Field "status" on shop.Order is not a relation, so "status__email" cannot go '
            "through it.",
        ),
        (
            Customer,
            "orders",
            'Field path "orders" goes through "orders" on shop.Customer, which holds many rows '
            "per row; only forward foreign keys and one-to-one relations can be followed.",
        ),
        (
            Customer,
            "orders__status",
            'Field path "orders__status" goes through "orders" on shop.Customer, which holds '
            "many rows per row; only forward foreign keys and one-to-one relations can be "
            "followed.",
        ),
        (
            Order,
            "customer__orders__id",
            'Field path "customer__orders__id" goes through "orders" on shop.Customer, which '
            "holds many rows per row; only forward foreign keys and one-to-one relations can "
            "be followed.",
        ),
    ],
)
def test_resolve_path_errors(model, path, message):
    with pytest.raises(ExportError) as excinfo:
        resolve_path(model, path)

    assert excinfo.value.args == (message,)


def test_many_to_many_is_refused():
    from django.contrib.auth.models import User

    with pytest.raises(ExportError) as excinfo:
        resolve_path(User, "groups__name")

    assert excinfo.value.args == (
        'Field path "groups__name" goes through "groups" on auth.User, which holds many rows '
        "per row; only forward foreign keys and one-to-one relations can be followed.",
    )


def test_resolve_columns_labels_and_order():
    columns = resolve_columns(Order, ["status", "customer__email"], {"status": "State"})

    assert [(c.path, c.label, c.field.name) for c in columns] == [
        ("status", "State", "status"),
        ("customer__email", "customer__email", "email"),
    ]


def test_resolve_columns_defaults():
    assert [c.path for c in resolve_columns(Customer)] == [
        "id",
        "email",
        "name",
        "country",
        "created_at",
    ]


def test_duplicate_field():
    with pytest.raises(ExportError) as excinfo:
        resolve_columns(Order, ["id", "status", "id"])

    assert excinfo.value.args == ('Field "id" is asked for more than once.',)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id", ["id"]),
        ("id,status", ["id", "status"]),
        (" id , customer__email ", ["id", "customer__email"]),
    ],
)
def test_parse_field_list(text, expected):
    assert parse_field_list(text) == expected


@pytest.mark.parametrize("text", ["id,,status", "id,", ",", " "])
def test_parse_field_list_empty_item(text):
    with pytest.raises(ExportError) as excinfo:
        parse_field_list(text)

    assert excinfo.value.args == (f'Empty field name in "{text}".',)
