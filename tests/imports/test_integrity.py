"""The per-batch checks: foreign keys, duplicates in the batch and in the file, existing rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DEFAULT_DB_ALIAS, transaction

from exports.imports import errors as E
from exports.imports.integrity import (
    Row,
    SeenKeys,
    check_batch_duplicates,
    check_existing_for_create,
    match_keys,
    resolve_foreign_keys,
)
from exports.imports.plan import build_plan
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CUSTOMER = ["email", "name", "country", "created_at"]


def plan(model, header, *, mode="create", key=None):
    return build_plan(
        model, header, mode=mode, key=key, mapping=None, allowed=None, max_columns=100
    )


def rows(*values_list, first_line=2):
    return [Row(first_line + i, f"raw{i}", list(v)) for i, v in enumerate(values_list)]


def messages(batch):
    return [[(e.line, e.column, e.message) for e in row.errors] for row in batch]


def test_duplicates_in_a_batch_name_the_first_line():
    p = plan(Customer, CUSTOMER)
    batch = rows(
        ("a@example.com", "A", "DE", WHEN),
        ("b@example.com", "B", "DE", WHEN),
        ("a@example.com", "C", "DE", WHEN),
    )
    check_batch_duplicates(p, batch)
    dup = E.DUPLICATE_IN_FILE.format(fields="email", value='"a@example.com"', first=2)
    assert messages(batch) == [[], [], [(4, "email", dup)]]


def test_existing_rows_are_refused_in_create_mode():
    CustomerFactory(email="taken@example.com")
    p = plan(Customer, CUSTOMER)
    batch = rows(("taken@example.com", "A", "DE", WHEN), ("free@example.com", "B", "DE", WHEN))
    check_existing_for_create(p, batch, using=DEFAULT_DB_ALIAS)
    message = E.ALREADY_EXISTS.format(
        model="shop.Customer", fields="email", value='"taken@example.com"'
    )
    assert messages(batch) == [[(2, "email", message)], []]


def test_foreign_keys_by_lookup_are_replaced_by_the_key_they_name():
    ann = CustomerFactory(email="ann@example.com")
    p = plan(Order, ["customer__email", "total_cents", "created_at"])
    batch = rows(("ann@example.com", 1, WHEN), ("nobody@example.com", 2, WHEN))
    resolve_foreign_keys(p, batch, using=DEFAULT_DB_ALIAS)
    assert batch[0].values[0] == ann.pk and batch[0].errors == []
    message = E.UNKNOWN_RELATED.format(
        model="shop.Customer", field="email", value='"nobody@example.com"'
    )
    assert messages(batch)[1] == [(3, "customer__email", message)]


def test_foreign_keys_by_id_must_exist():
    ann = CustomerFactory()
    p = plan(Order, ["customer", "total_cents", "created_at"])
    batch = rows((ann.pk, 1, WHEN), (ann.pk + 1000, 2, WHEN))
    resolve_foreign_keys(p, batch, using=DEFAULT_DB_ALIAS)
    assert batch[0].errors == []
    assert len(batch[1].errors) == 1 and batch[1].errors[0].column == "customer"
    assert str(ann.pk + 1000) in batch[1].errors[0].message


def test_match_keys_sets_the_pk_or_says_the_row_is_missing():
    ann = CustomerFactory(email="ann@example.com")
    p = plan(Customer, ["email", "name"], mode="update", key=["email"])
    batch = rows(("ann@example.com", "Ann"), ("bob@example.com", "Bob"), (None, "Nobody"))
    assert match_keys(p, batch, using=DEFAULT_DB_ALIAS) == 1
    assert batch[0].pk == ann.pk
    missing = E.DOES_NOT_EXIST.format(
        model="shop.Customer", fields="email", value='"bob@example.com"'
    )
    assert messages(batch)[1:] == [
        [(3, "email", missing)],
        [(4, "email", E.KEY_IS_NULL.format(fields="email"))],
    ]
    upsert = plan(Customer, CUSTOMER, mode="upsert", key=["email"])
    batch = rows(("bob@example.com", "Bob", "DE", WHEN))
    assert match_keys(upsert, batch, using=DEFAULT_DB_ALIAS) == 0
    assert batch[0].errors == [] and batch[0].pk is None  # upsert: a new row


def test_seen_keys_find_a_key_of_an_earlier_batch():
    p = plan(Customer, ["email", "name"], mode="update", key=["email"])
    seen = SeenKeys(p, using=DEFAULT_DB_ALIAS)
    with transaction.atomic():
        seen.create()
        try:
            first = rows(("a@example.com", "A"), ("b@example.com", "B"))
            seen.check_and_add(first)
            second = rows(("b@example.com", "B again"), ("c@example.com", "C"), first_line=10)
            seen.check_and_add(second)
        finally:
            seen.drop()
    assert messages(first) == [[], []]
    again = E.DUPLICATE_IN_FILE.format(fields="email", value='"b@example.com"', first=3)
    assert messages(second) == [[(10, "email", again)], []]
