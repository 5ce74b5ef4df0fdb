"""Loaders: rows written as the strategy says; a refused batch is retried row by row."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction
from django.db.models import signals

from exports.imports import errors as E
from exports.imports.integrity import Row
from exports.imports.loaders import Loader, _default_maker
from exports.imports.plan import build_plan
from exports.imports.strategy import choose_write_strategy
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CUSTOMER = ["email", "name", "country", "created_at"]


def loader_for(model, header, *, mode="create", key=None):
    plan = build_plan(
        model, header, mode=mode, key=key, mapping=None, allowed=None, max_columns=100
    )
    strategy = choose_write_strategy(
        plan,
        using=DEFAULT_DB_ALIAS,
        text_values=True,
        on_error="abort",
        dry_run=False,
        max_errors=None,
    )
    return Loader(plan, using=DEFAULT_DB_ALIAS, strategy=strategy)


def customer_rows(*emails):
    return [Row(2 + i, e, [e, e.upper(), "DE", WHEN]) for i, e in enumerate(emails)]


def test_create_writes_every_row():
    loader = loader_for(Customer, CUSTOMER)
    assert loader.write(customer_rows("a@x.org", "b@x.org")) == (2, 0)
    assert list(Customer.objects.order_by("email").values_list("email", "name")) == [
        ("a@x.org", "A@X.ORG"),
        ("b@x.org", "B@X.ORG"),
    ]
    assert loader.write([]) == (0, 0)


def test_a_refused_batch_is_written_row_by_row_naming_the_row_at_fault():
    CustomerFactory(email="taken@x.org")
    loader = loader_for(Customer, CUSTOMER)
    rows = customer_rows("a@x.org", "taken@x.org", "c@x.org")
    with transaction.atomic():
        assert loader.write(rows) == (2, 0)
    assert [r.errors for r in rows[::2]] == [[], []]
    (error,) = rows[1].errors
    assert (error.line, error.column) == (3, "")
    assert error.message.startswith(E.DATABASE_REJECTED.format(error=""))
    assert set(Customer.objects.values_list("email", flat=True)) == {
        "a@x.org",
        "taken@x.org",
        "c@x.org",
    }


def test_upsert_updates_the_rows_whose_key_exists():
    old = CustomerFactory(email="a@x.org", name="Old")
    loader = loader_for(Customer, CUSTOMER, mode="upsert", key=["email"])
    rows = customer_rows("a@x.org", "b@x.org")
    rows[0].pk = old.pk  # as match_keys sets it
    assert loader.write(rows) == (1, 1)
    assert Customer.objects.get(pk=old.pk).name == "A@X.ORG"
    assert Customer.objects.count() == 2


def test_update_sets_only_the_columns_of_the_file():
    old = CustomerFactory(email="a@x.org", name="Old", country="FR")
    loader = loader_for(Customer, ["email", "name"], mode="update", key=["email"])
    row = Row(2, "", ["a@x.org", "New"])
    row.pk = old.pk
    assert loader.write([row]) == (0, 1)
    old.refresh_from_db()
    assert (old.name, old.country) == ("New", "FR")


def test_the_fast_instances_equal_the_models_own():
    ann = CustomerFactory()
    loader = loader_for(Order, ["customer", "total_cents", "created_at"])
    rows = [Row(2, "", [ann.pk, 5, WHEN])]
    assert loader.fast_init
    fast = loader.instances(rows)[0]

    def listener(**kwargs):
        pass

    signals.post_init.connect(listener, sender=Order)
    try:
        slow_loader = loader_for(Order, ["customer", "total_cents", "created_at"])
        assert not slow_loader.fast_init  # a post_init receiver must see each instance
        slow = slow_loader.instances(rows)[0]
    finally:
        signals.post_init.disconnect(listener, sender=Order)
    names = [f.attname for f in Order._meta.concrete_fields if f.attname != "reference"]
    assert [getattr(fast, n) for n in names] == [getattr(slow, n) for n in names]
    assert fast.pk is None and fast._state.adding and fast._state.db is None
    assert isinstance(fast.reference, uuid.UUID) and fast.reference != slow.reference


def test_defaults_are_made_per_row():
    fields = {f.name: f for f in Order._meta.concrete_fields}
    make_metadata = _default_maker(fields["metadata"])
    first, second = make_metadata(), make_metadata()
    assert first == {} and first is not second  # a mutable default is never shared
    assert _default_maker(fields["status"])() == "pending"
    assert _default_maker(fields["reference"])() != _default_maker(fields["reference"])()


@pytest.mark.postgres
def test_stream_copies_rows_as_they_come_and_fails_at_once_on_a_missing_key():
    ann = CustomerFactory()
    loader = loader_for(Order, ["customer", "total_cents", "created_at"])
    assert loader.strategy.stream

    def rows():
        for n in range(3):
            yield Row(2 + n, "", [ann.pk, n, WHEN])

    with transaction.atomic():
        assert loader.stream(rows()) == 3
    assert Order.objects.count() == 3
    with pytest.raises(DatabaseError), transaction.atomic():
        loader.stream([Row(2, "", [ann.pk + 1000, 1, WHEN])])
    assert Order.objects.count() == 3
