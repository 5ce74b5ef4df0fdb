"""The test run through a real pgbouncer (``bash .ci/pgbouncer``, transaction pooling).

A run is *behind pgbouncer* when the database's host and port answer pgbouncer's admin console
(the ``pgbouncer`` pseudo-database): that is what ``REQUIRE_PGBOUNCER=1`` checks, and what the
summary line at the end of the run reports from ``SHOW STATS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

ADMIN_DB = "pgbouncer"
NOT_BEHIND = (
    "REQUIRE_PGBOUNCER=1 but {host}:{port} does not answer pgbouncer's admin console "
    "(start it with: bash .ci/pgbouncer)."
)
NOT_TRANSACTION_MODE = "REQUIRE_PGBOUNCER=1 but pgbouncer on {host}:{port} runs pool_mode = {mode}."
CURSORS_ENABLED = (
    "REQUIRE_PGBOUNCER=1 but DISABLE_SERVER_SIDE_CURSORS is not set: Django's server-side "
    "cursors outside a transaction break behind pgbouncer in transaction mode."
)


def admin_rows(settings_dict: Mapping[str, Any], command: str) -> list[tuple] | None:
    """Rows of an admin console ``command`` at the database's host and port, or None when no
    pgbouncer answers there (PostgreSQL itself has no ``pgbouncer`` database)."""
    try:
        conn = psycopg.connect(
            host=settings_dict.get("HOST") or "127.0.0.1",
            port=settings_dict.get("PORT") or 5432,
            user=settings_dict.get("USER") or "postgres",
            password=settings_dict.get("PASSWORD") or None,
            dbname=ADMIN_DB,
            autocommit=True,
            connect_timeout=5,
            # The admin console speaks only the simple query protocol.
            cursor_factory=psycopg.ClientCursor,
        )
    except psycopg.OperationalError:
        return None
    with conn, conn.cursor() as cursor:
        cursor.execute(command)
        return cursor.fetchall() if cursor.description else []


def pool_mode(settings_dict: Mapping[str, Any]) -> str | None:
    rows = admin_rows(settings_dict, "SHOW CONFIG")
    if rows is None:
        return None
    return next(row[1] for row in rows if row[0] == "pool_mode")


def requirement_error(settings_dict: Mapping[str, Any]) -> str | None:
    """Why this run is not through pgbouncer in transaction mode, or None."""
    where = {"host": settings_dict.get("HOST"), "port": settings_dict.get("PORT")}
    mode = pool_mode(settings_dict)
    if mode is None:
        return NOT_BEHIND.format(**where)
    if mode != "transaction":
        return NOT_TRANSACTION_MODE.format(mode=mode, **where)
    if not settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return CURSORS_ENABLED
    return None


def stats_line(settings_dict: Mapping[str, Any], name: str) -> str | None:
    """One line of ``SHOW STATS`` for database ``name``: the proof the tests went through."""
    rows = admin_rows(settings_dict, "SHOW STATS")
    row = next((row for row in rows or () if row[0] == name), None)
    if row is None:
        return None
    return (
        f"pgbouncer {settings_dict.get('HOST')}:{settings_dict.get('PORT')} "
        f"(pool_mode = {pool_mode(settings_dict)}): database {name}: "
        f"{row[1]} transactions, {row[2]} queries pooled"
    )


def release(settings_dict: Mapping[str, Any], name: str) -> None:
    """Close pgbouncer's idle server connections to ``name`` so that DROP DATABASE (pytest-django's
    teardown, through pgbouncer) is not refused with "being accessed by other users"."""
    admin_rows(settings_dict, f"KILL {name}")
    admin_rows(settings_dict, f"RESUME {name}")
