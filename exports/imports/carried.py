"""Keys a dry run wrote and rolled back, carried to the batches after it (SQLite).

On SQLite a writer locks the whole database file until its transaction ends, so a dry run in
one transaction kept every other write on the site (an admin login) failing with "database is
locked" for its whole length. There each batch of a dry run is written (so the database's own
checks run) and rolled back at once. What the later batches of a real import would have seen
of it, the unique values and keys of its rows, is kept here: in a TEMP table, which SQLite
keeps in a separate database with its own locks (and memory stays bounded). With it a dry run
rejects the same rows with the same messages: a unique value already written by an earlier
batch, a foreign key to a row of the same table written earlier.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connections, models

from .integrity import IN_CHUNK, Row, key_of
from .plan import Plan


def _text(key: tuple) -> str:
    return "\x1f".join(map(str, key))


class CarriedKeys:
    """For each unique set of the file (``plan.file_unique_sets``), the keys written so far."""

    def __init__(self, plan: Plan, *, using: str) -> None:
        self.plan = plan
        self.using = using
        self.table = f"exports_import_carried_{uuid.uuid4().hex[:12]}"
        self.created = False
        pk = plan.model._meta.pk
        self.pk_field = pk
        self.pk_position = next(
            (
                i
                for i, t in enumerate(plan.targets)
                if t.field.attname == pk.attname and t.lookup is None
            ),
            None,
        )

    def _quoted(self) -> str:
        return connections[self.using].ops.quote_name(self.table)

    def create(self) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self._quoted()}"
                " (s integer, k text, pk text, PRIMARY KEY (s, k))"
            )
        self.created = True

    def drop(self) -> None:
        connection = connections[self.using]
        if not self.created or connection.connection is None:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self._quoted()}")
        self.created = False

    def add(self, rows: Iterable[Row]) -> None:
        """Keep the keys of ``rows``, written by a batch that was then rolled back."""
        values: list[tuple[int, str, str | None]] = []
        for row in rows:
            pk = None if self.pk_position is None else row.values[self.pk_position]
            pk_text = None if pk is None else str(pk)
            for index, (_fields, positions, _column) in enumerate(self.plan.file_unique_sets):
                key = key_of(row, positions)
                if None not in key:
                    values.append((index, _text(key), pk_text))
        if not values:
            return
        with connections[self.using].cursor() as cursor:
            for start in range(0, len(values), IN_CHUNK // 3):
                part = values[start : start + IN_CHUNK // 3]
                marks = ", ".join(["(%s, %s, %s)"] * len(part))
                params = [x for triple in part for x in triple]
                cursor.execute(f"INSERT INTO {self._quoted()} (s, k, pk) VALUES {marks}", params)

    def find(self, index: int, keys: set[tuple]) -> dict[tuple, Any]:
        """Which of ``keys`` (of unique set ``index``) were written: key -> primary key."""
        by_text = {_text(k): k for k in keys if None not in k}
        if not by_text:
            return {}
        found: dict[tuple, Any] = {}
        names = list(by_text)
        with connections[self.using].cursor() as cursor:
            for start in range(0, len(names), IN_CHUNK):
                part = names[start : start + IN_CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"SELECT k, pk FROM {self._quoted()} WHERE s = %s AND k IN ({marks})",
                    [index, *part],
                )
                for text, pk in cursor.fetchall():
                    found[by_text[text]] = None if pk is None else self.pk_field.to_python(pk)
        return found

    def find_related(self, field: models.Field, values: set) -> dict[Any, Any]:
        """For a foreign key to this same table by ``field``: value -> primary key.

        The primary key is None when the file does not give it (the database would have
        numbered the row).
        """
        for index, (fields, _positions, _column) in enumerate(self.plan.file_unique_sets):
            if len(fields) == 1 and fields[0].attname == field.attname:
                found = self.find(index, {(v,) for v in values})
                return {key[0]: pk for key, pk in found.items()}
        return {}
