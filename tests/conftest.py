"""Shared fixtures. PostgreSQL-only tests are marked ``postgres``, SQLite-only tests ``sqlite``;
browser tests ``browser``.

On a newcomer's machine without PostgreSQL (the default SQLite run) the ``postgres`` tests skip
with a reason. In CI, ``REQUIRE_POSTGRES=1`` makes a run that is not on PostgreSQL, or cannot
reach it, fail instead; ``REQUIRE_BROWSER=1`` does the same for a missing chromium, and
``REQUIRE_LIBREOFFICE=1`` for a missing ``soffice`` (tests marked ``libreoffice``).
``REQUIRE_PGBOUNCER=1`` fails a run whose database is not reached through pgbouncer in
transaction mode (tests/pgbouncer.py); tests marked ``direct_connection`` skip behind it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from decimal import Decimal

import pytest
from django.db import connection, connections
from hypothesis import settings as hypothesis_settings

from tests import pgbouncer
from tests.accounts import ORDER_EXPORTER, make_user
from tests.factories import CustomerFactory, OrderFactory

# CI must be reproducible: the same examples on every run (explore locally with
# --hypothesis-seed=random or by running without CI=true).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

CHROMIUM = "/usr/bin/chromium"
SOFFICE = "soffice"


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian's chromium (/usr/bin/chromium)")
    config.addinivalue_line("markers", "libreoffice: needs LibreOffice's soffice (Debian's)")
    config.addinivalue_line(
        "markers",
        "direct_connection(reason): needs a direct PostgreSQL connection; skipped behind pgbouncer",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1" and not _on_postgres():
        raise pytest.UsageError(
            "REQUIRE_POSTGRES=1 but DATABASE_URL does not name a PostgreSQL database."
        )
    if os.environ.get("REQUIRE_BROWSER") == "1" and not shutil.which(CHROMIUM):
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but {CHROMIUM} is not installed.")
    if os.environ.get("REQUIRE_LIBREOFFICE") == "1" and not shutil.which(SOFFICE):
        raise pytest.UsageError("REQUIRE_LIBREOFFICE=1 but soffice is not installed.")
    if os.environ.get("REQUIRE_PGBOUNCER") == "1":
        error = pgbouncer.requirement_error(connection.settings_dict)
        if error:
            raise pytest.UsageError(error)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_sqlite = pytest.mark.skip(reason="needs SQLite: run without DATABASE_URL")
    skip_browser = pytest.mark.skip(
        reason=f"needs chromium at {CHROMIUM} (apt-get install chromium)"
    )
    skip_soffice = pytest.mark.skip(reason="needs soffice (apt-get install libreoffice-calc-nogui)")
    on_pg = _on_postgres()
    on_sqlite = connection.vendor == "sqlite"
    has_browser = bool(shutil.which(CHROMIUM))
    has_soffice = bool(shutil.which(SOFFICE))
    behind_pgbouncer = on_pg and pgbouncer.pool_mode(connection.settings_dict) is not None
    # pytest-playwright's sync API keeps an event loop running in the main thread from the
    # first browser test to the end of the session, and Django refuses synchronous database
    # calls while one runs: browser tests go last.
    items.sort(key=lambda item: "browser" in item.keywords)
    for item in items:
        if "postgres" in item.keywords and not on_pg:
            item.add_marker(skip_pg)
        if "sqlite" in item.keywords and not on_sqlite:
            item.add_marker(skip_sqlite)
        if "browser" in item.keywords and not has_browser:
            item.add_marker(skip_browser)
        if "libreoffice" in item.keywords and not has_soffice:
            item.add_marker(skip_soffice)
        if behind_pgbouncer and (marker := item.get_closest_marker("direct_connection")):
            item.add_marker(pytest.mark.skip(reason=f"behind pgbouncer: {marker.args[0]}"))


_pgbouncer_summary: list[str] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, plus: behind pgbouncer, note its stats for the test database and close
    its pooled server connections to it, or the final DROP DATABASE is refused."""
    yield
    if not _on_postgres():
        return
    settings_dict = connection.settings_dict
    if pgbouncer.pool_mode(settings_dict) is None:
        return
    with django_db_blocker.unblock():
        connections.close_all()
    line = pgbouncer.stats_line(settings_dict, settings_dict["NAME"])
    if line:
        _pgbouncer_summary.append(line)
    pgbouncer.release(settings_dict, settings_dict["NAME"])


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _pgbouncer_summary:
        terminalreporter.write_line(line)


@pytest.fixture
def streamed():
    """Join a streaming response's content into bytes (sync responses only)."""

    def join(response) -> bytes:
        assert response.streaming is True
        return b"".join(response.streaming_content)

    return join


# Shared by the download view and admin tests.


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
