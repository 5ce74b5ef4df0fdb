"""seed_demo fills the demo tables deterministically, with tricky text and NULLs mixed in."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from exports.stream import prepare_export
from exportsite.shop.demo_data import TRICKY_NOTES
from exportsite.shop.models import Customer, Order

pytestmark = pytest.mark.django_db


def digest() -> str:
    data = b"".join(
        prepare_export(queryset=Order.objects.all(), fields=None, format="csv", engine="cursor")
    )
    return hashlib.sha256(data).hexdigest()


def test_seed_demo_is_deterministic_and_replaces_the_tables():
    out = StringIO()
    call_command("seed_demo", orders=3000, stdout=out)
    first = digest()
    call_command("seed_demo", orders=3000, stdout=StringIO())

    assert out.getvalue().startswith("Seeded 150 customers and 3,000 orders in ")
    assert (Customer.objects.count(), Order.objects.count()) == (150, 3000)
    assert digest() == first
    call_command("seed_demo", orders=3000, seed=7, stdout=StringIO())
    assert digest() != first


def test_seed_demo_mixes_in_tricky_text_and_nulls():
    call_command("seed_demo", orders=3000, stdout=StringIO())

    notes = set(Order.objects.values_list("note", flat=True))
    assert set(TRICKY_NOTES) - {""} <= notes
    assert Order.objects.filter(discount__isnull=True).exists()
    assert Order.objects.filter(shipped_on__isnull=True).exists()
    assert Order.objects.filter(metadata={}).exists()
    assert Order.objects.exclude(metadata={}).exists()


def test_new_rows_after_seeding_get_fresh_ids():
    call_command("seed_demo", orders=10, stdout=StringIO())
    customer = Customer.objects.create(
        email="new@example.com", name="New", country="DE", created_at="2024-01-01T00:00:00Z"
    )

    assert customer.pk == 2  # 10 orders -> 1 customer seeded with id 1


def test_seeding_restarts_ids_that_earlier_rows_used():
    # SQLite's AUTOINCREMENT remembers the largest key ever used (sqlite_sequence).
    Customer.objects.create(
        id=1000,
        email="old@example.com",
        name="Old",
        country="DE",
        created_at="2024-01-01T00:00:00Z",
    )
    call_command("seed_demo", orders=10, stdout=StringIO())

    customer = Customer.objects.create(
        email="new@example.com", name="New", country="DE", created_at="2024-01-01T00:00:00Z"
    )

    assert customer.pk == 2
