import pytest

from exports.stream import prepare_export
from exportsite.shop.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_export_smoke():
    OrderFactory.create_batch(3)
    export = prepare_export(queryset=Order.objects.all(), fields=["id", "status"])
    data = b"".join(export)
    assert data.splitlines()[0] == b"id,status"
    assert export.rows == 3
