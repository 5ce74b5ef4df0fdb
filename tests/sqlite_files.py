"""A file-based SQLite database under an extra alias, for tests of SQLite's file locks.

The test database is in memory, where no second connection (the ``sqlite3`` module, another
process) can see the locks a transaction takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from django.db import connections

from exportsite.shop.models import Customer, Order


@contextlib.contextmanager
def shop_database(path: Path, alias: str, django_db_blocker) -> Iterator[None]:
    """Configure ``alias`` as a SQLite file at ``path`` with the shop tables; remove it after."""
    configured = connections.configure_settings(
        {
            "default": connections.settings["default"],
            alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)},
        }
    )
    connections.settings[alias] = configured[alias]
    with django_db_blocker.unblock():
        try:
            with connections[alias].schema_editor() as editor:
                editor.create_model(Customer)
                editor.create_model(Order)
            yield
        finally:
            connections[alias].close()
            del connections.settings[alias]
            delattr(connections._connections, alias)
