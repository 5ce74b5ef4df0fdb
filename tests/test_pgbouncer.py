"""What changes behind pgbouncer in transaction mode (DISABLE_SERVER_SIDE_CURSORS), checked on
a direct connection and in CI's run through a real pgbouncer (tests/pgbouncer.py)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from exports.watchdog import terminate_backend

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def connect() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password")},
        dbname=connection.settings_dict["NAME"],
        prepare_threshold=None,
    )


def test_the_watchdog_never_signals_a_pid_pgbouncer_may_have_made_up(monkeypatch):
    """Behind pgbouncer the client's backend_pid is pgbouncer's random cancel key, which may be
    some other session's backend pid: the watchdog shuts the stalled socket down instead."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    with connect() as bystander, connect() as stalled:
        # In a transaction the server connection is pinned: this is its real pid.
        bystander.execute("BEGIN")
        other_pid = bystander.execute("SELECT pg_backend_pid()").fetchone()[0]

        ended = terminate_backend("default", other_pid, stalled.pgconn.socket)

        assert ended is True
        assert bystander.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError):
            stalled.execute("SELECT 1")
