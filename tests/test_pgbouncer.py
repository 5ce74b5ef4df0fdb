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


def test_the_watchdog_signals_only_the_backend_whose_client_is_the_stalled_socket():
    """Without the setting too (a pooler in session mode also makes up pids): a pid that is not
    the stalled socket's own backend is never signalled; the stalled socket is shut instead."""
    with connect() as bystander, connect() as stalled:
        bystander.execute("BEGIN")
        other_pid = bystander.execute("SELECT pg_backend_pid()").fetchone()[0]

        ended = terminate_backend("default", other_pid, stalled.pgconn.socket)

        assert ended is True
        assert bystander.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError):
            stalled.execute("SELECT 1")


@pytest.mark.direct_connection(
    "the client's backend_pid is the server's only on a direct connection"
)
def test_the_watchdog_terminates_its_own_backend_on_a_direct_connection():
    stalled = connect()
    try:
        stalled.execute("BEGIN")
        pid = stalled.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pid == stalled.pgconn.backend_pid  # a direct connection: the real pid

        assert terminate_backend("default", pid, stalled.pgconn.socket) is True

        with connect() as observer:
            query = "SELECT 1 FROM pg_stat_activity WHERE pid = %s"
            assert observer.execute(query, [pid]).fetchone() is None
        with pytest.raises(psycopg.OperationalError):
            stalled.execute("SELECT 1")
    finally:
        stalled.close()
