import datetime as dt
import uuid
from decimal import Decimal

import pytest

from tests.accounts import ORDER_EXPORTER, make_user
from tests.factories import CustomerFactory, OrderFactory


@pytest.fixture
def exporter(db):
    """Active staff with view and export on orders (and nothing else)."""
    return make_user("exporter", perms=ORDER_EXPORTER)


@pytest.fixture
def orders(db):
    """Three orders with fixed ids and values, notes that look like formulas among them."""
    alice = CustomerFactory(id=1, email="alice@example.com", country="DE")
    bob = CustomerFactory(id=2, email="bob@example.com", country="FR")
    rows = [
        (1, alice, "paid", 1250, "=1+2", Decimal("1.50")),
        (2, bob, "shipped", 99, 'He said "hi", then left', None),
        (3, alice, "paid", 5000, "@SUM(A1)", Decimal("0.00")),
    ]
    return [
        OrderFactory(
            id=pk,
            customer=customer,
            status=status,
            total_cents=total,
            note=note,
            discount=discount,
            created_at=dt.datetime(2024, 3, 1, 12, 0, pk, tzinfo=dt.UTC),
            reference=uuid.UUID(int=pk, version=4),
        )
        for pk, customer, status, total, note, discount in rows
    ]


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, django_db_setup):
    """Debian's chromium (never ``playwright install``), headless.

    Asks for the test database first: Playwright's sync API runs an event loop in the test
    thread, and Django refuses to create the database with a loop running.
    """
    from tests.conftest import CHROMIUM

    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": BROWSER_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "accept_downloads": True}
