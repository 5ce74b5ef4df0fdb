"""factory-boy factories for the demo models."""

import datetime as dt
import uuid
from decimal import Decimal

import factory

from exportsite.shop.models import Customer, Order


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "DE"
    created_at = factory.Sequence(
        lambda n: dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    )


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.PAID
    total_cents = factory.Sequence(lambda n: 1000 + n)
    currency = "EUR"
    discount = Decimal("1.50")
    is_gift = False
    created_at = factory.Sequence(
        lambda n: dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=n)
    )
    shipped_on = None
    note = ""
    reference = factory.Sequence(lambda n: uuid.UUID(int=n + 1, version=4))
    metadata = factory.LazyFunction(dict)
