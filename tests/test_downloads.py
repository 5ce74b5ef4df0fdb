"""What the download view and the admin share: one lookup, one message per mistake."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.http import QueryDict

from exports import downloads, registry
from exports.downloads import FormatNotOffered, NotDeclared, declared
from exports.errors import ExportError
from exportsite.shapes.models import Reading
from exportsite.shop.models import Customer, Order

ORDER = registry.get(Order)


@pytest.mark.parametrize(
    "model", [Order, "shop.Order", "shop.order"], ids=["model", "label", "lower"]
)
def test_declared_finds_the_declaration(model):
    assert declared(model) is ORDER
    assert declared(model, importable=True) is ORDER


@pytest.mark.parametrize(
    ("model", "message"),
    [
        pytest.param(Group, "auth.Group is not declared exportable.", id="undeclared"),
        pytest.param("auth.group", "auth.Group is not declared exportable.", id="undeclared-label"),
        pytest.param("shop.nothing", "shop.nothing is not declared exportable.", id="no-model"),
        pytest.param("nope.order", "nope.order is not declared exportable.", id="no-app"),
        pytest.param("order", "order is not declared exportable.", id="no-app-label"),
    ],
)
def test_declared_or_not_declared(model, message):
    with pytest.raises(NotDeclared) as excinfo:
        declared(model)
    assert excinfo.value.args == (message,)


def test_declared_importable(monkeypatch):
    entry = registry.Exportable(model=Reading, fields=("id",))
    monkeypatch.setitem(registry._registry, Reading, entry)
    assert declared(Reading) is entry
    with pytest.raises(NotDeclared) as excinfo:
        declared(Reading, importable=True)
    assert excinfo.value.args == ("shapes.Reading is not declared importable.",)


def test_check_format():
    assert downloads.check_format(ORDER, "TSV", ("csv", "tsv")) == "tsv"
    with pytest.raises(FormatNotOffered) as excinfo:
        downloads.check_format(ORDER, "jsonl", ("csv", "tsv"))
    assert excinfo.value.args == (
        'Format "jsonl" is not offered for shop.Order; choose one of: csv, tsv.',
    )


def test_check_fields():
    assert downloads.check_fields(ORDER, None) == ORDER.fields
    assert downloads.check_fields(ORDER, ["id,status", "note"]) == ("id", "status", "note")
    with pytest.raises(ExportError) as excinfo:
        downloads.check_fields(ORDER, ["id,customer__name"])
    assert excinfo.value.args == (
        downloads.FIELD_NOT_DECLARED.format(
            path="customer__name", model="shop.Order", choices=", ".join(ORDER.fields)
        ),
    )


@pytest.mark.parametrize(
    ("values", "expected"), [(["0"], False), (["1"], True), (["0", "true"], True)]
)
def test_check_bom(values, expected):
    assert downloads.check_bom(values, param="bom") is expected


def test_check_bom_default_and_mistake(settings):
    settings.EXPORTS = {"HTTP_BOM": True}
    assert downloads.check_bom(None, param="bom") is True
    with pytest.raises(ExportError) as excinfo:
        downloads.check_bom(["maybe"], param="_export_bom")
    assert excinfo.value.args == ('Bad parameter "_export_bom=maybe": use 1 or 0.',)


def test_check_filters():
    query = QueryDict("status=paid&created_at__gte=2024-01-01&status=sent")
    assert downloads.check_filters(ORDER, query.lists()) == (
        ("status", "paid"),
        ("status", "sent"),
        ("created_at__gte", "2024-01-01"),
    )
    customer = registry.get(Customer)
    with pytest.raises(ExportError) as excinfo:
        downloads.check_filters(customer, [("name__icontains", ["a"])])
    assert excinfo.value.args == (
        'Filter "name__icontains" is not allowed on shop.Customer; '
        "filter on: id, email, country, created_at.",
    )
