"""The keyset engine: page on the ordering key, one short query per batch, never OFFSET.

Each page is ``SELECT ... WHERE <after the last row> ORDER BY <key> LIMIT n``; nothing stays open
between pages, so a slow consumer holds no transaction, cursor or lock. The key is the export's
whole ordering, which :func:`exports.stream.normalise_ordering` ends with the primary key (so the
key is unique). Every item keeps its own direction (``-created_at, pk`` pages fine), and each is
selected under an alias (``exports_key_0``...), so field paths, annotations and expressions are
compared exactly as they are sorted.

NULLs have no place in ``a > x``: the predicate adds ``IS NULL`` branches that put them where the
database sorts them (last in ascending order on PostgreSQL, first on SQLite, as Django's
``features.nulls_order_largest`` says), or where an ``OrderBy`` with ``nulls_first`` /
``nulls_last`` asks. Columns known to be non-nullable get no such branch, so ``pk > x`` stays an
index range scan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.models import Aggregate, ExpressionWrapper, F, OrderBy, Q, Window

from .columns import resolve_path
from .errors import ExportError
from .expressions import SQLTemplate

ALIAS = "exports_key_{index}"
RAW_ALIAS = "exports_stored_key_{index}"


@dataclass(frozen=True)
class KeysetKey:
    """One item of the ordering: what is selected and compared, and how it sorts."""

    expression: Any
    descending: bool = False
    nulls_first: bool | None = None  # None: where the database puts NULLs by default
    nullable: bool = True

    def order_by(self, alias: str) -> OrderBy:
        nulls = {"nulls_first": True} if self.nulls_first else {}
        if self.nulls_first is False:
            nulls = {"nulls_last": True}
        return OrderBy(F(alias), descending=self.descending, **nulls)

    def nulls_come_first(self, nulls_order_largest: bool) -> bool:
        if self.nulls_first is not None:
            return self.nulls_first
        return self.descending == nulls_order_largest


def keyset_keys(
    model: type[models.Model],
    ordering: Sequence[Any],
    *,
    annotations: Mapping[str, Any] | None = None,
) -> list[KeysetKey] | None:
    """The keys to page on, or None when keyset paging cannot follow ``ordering``.

    Pageable items: field paths through forward relations (nullable or not), names of the
    queryset's annotations, and expressions (plain or wrapped in ``asc()``/``desc()``). Not
    pageable: ``?`` (random), aggregates, a path that ends on a relation whose model has a
    ``Meta.ordering`` of its own (Django sorts by that, not by the key), unknown paths. The
    primary key must come last (``normalise_ordering`` makes sure it does).
    """
    keys: list[KeysetKey] = []
    for item in ordering:
        key = _key(model, item, annotations or {})
        if key is None:
            return None
        keys.append(key)
    if not keys or not _is_pk(model, keys[-1].expression):
        return None
    return keys


def _key(model: type[models.Model], item: Any, annotations: Mapping[str, Any]) -> KeysetKey | None:
    if isinstance(item, str):
        if item == "?":
            return None
        descending = item.startswith("-")
        name = item.removeprefix("-")
        return _named_key(model, name, descending, annotations)
    if isinstance(item, OrderBy):
        inner = _key(model, item.expression, annotations)
        if inner is None:
            return None
        nulls_first = True if item.nulls_first else (False if item.nulls_last else None)
        return KeysetKey(inner.expression, item.descending, nulls_first, inner.nullable)
    if isinstance(item, F):
        return _named_key(model, _name(item), False, annotations)
    if hasattr(item, "resolve_expression") and not _aggregates(item, annotations):
        return KeysetKey(item)
    return None


def _aggregates(expression: Any, annotations: Mapping[str, Any]) -> bool:
    """Whether ``expression`` (resolved or not) holds an aggregate or a window: those filter
    in HAVING or not at all, so they cannot page."""
    if isinstance(expression, Aggregate | Window):
        return True
    if isinstance(expression, F):
        found = annotations.get(_name(expression))
        return found is not None and _aggregates(found, {})
    sources: list[Any] = getattr(expression, "get_source_expressions", list)()
    return any(_aggregates(source, annotations) for source in sources if source is not None)


def _named_key(
    model: type[models.Model], name: str, descending: bool, annotations: Mapping[str, Any]
) -> KeysetKey | None:
    if name in annotations:
        if _aggregates(annotations[name], {}):
            return None
        return KeysetKey(F(name), descending)
    if name == "pk":
        name = model._meta.pk.attname
    try:
        field = resolve_path(model, name)
    except ExportError:
        return None
    if field.is_relation and name.rpartition("__")[2] == field.name:
        # ``order_by("customer")`` sorts by Customer's Meta.ordering when it has one.
        assert field.related_model is not None
        related = field.related_model._meta
        ordering: list[Any] = list(related.ordering or [])
        if ordering not in ([], ["pk"], [related.pk.name], [related.pk.attname]):
            return None
    return KeysetKey(F(name), descending, nullable=not _non_nullable_path(model, name))


def _name(expression: F) -> str:
    name: str = getattr(expression, "name")  # noqa: B009  (django-stubs' F has no name)
    return name


def _is_pk(model: type[models.Model], expression: Any) -> bool:
    pk = model._meta.pk
    return isinstance(expression, F) and _name(expression) in ("pk", pk.name, pk.attname)


def _non_nullable_path(model: type[models.Model], path: str) -> bool:
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            field = resolve_path(current, part)
        except ExportError:
            return False
        if field.null:
            return False
        if index < len(parts) - 1:
            assert field.related_model is not None
            current = field.related_model
    return True


def iter_keyset_batches(
    queryset: models.QuerySet,
    exprs: Sequence[Any],
    *,
    chunk_size: int,
    limit: int | None,
    keys: Sequence[KeysetKey],
) -> Iterator[list[tuple]]:
    """Page on ``keys`` (:func:`keyset_keys`): one query per batch, stopping at the first
    empty batch, so the number of queries is ``ceil(rows / chunk_size) + 1``.
    """
    connection = connections[queryset.db]
    nulls_largest = connection.features.nulls_order_largest
    aliases = [ALIAS.format(index=index) for index in range(len(keys))]
    width = len(keys)
    annotations = {a: key.expression for a, key in zip(aliases, keys, strict=True)}
    read = aliases
    if connection.vendor == "sqlite":
        # SQLite compares what it stores, which Django may change on the way out (a datetime
        # stored with 3 fraction digits comes back with 6, a decimal stored as a float comes
        # back rounded to 15 digits): a key sent back converted would skip rows or repeat
        # them. So the last row's keys are read as stored (``+x``, SQLite's no-op, which has
        # no declared type for the driver to convert by) and compared with no conversion,
        # while the predicate and ORDER BY still name the column (its index serves them).
        read = [RAW_ALIAS.format(index=index) for index in range(len(keys))]
        for alias, raw, key in zip(aliases, read, keys, strict=True):
            annotations[alias] = ExpressionWrapper(key.expression, output_field=StoredValue())
            annotations[raw] = SQLTemplate(key.expression, "+({0})", StoredValue())
    qs = (
        queryset.annotate(**annotations)
        .values_list(*exprs, *read)
        .order_by(*(key.order_by(a) for a, key in zip(aliases, keys, strict=True)))
    )
    remaining = limit
    last: tuple | None = None
    while remaining is None or remaining > 0:
        size = chunk_size if remaining is None else min(chunk_size, remaining)
        page = qs if last is None else qs.filter(after(keys, aliases, last, nulls_largest))
        logged = connection.queries_log[-1] if connection.queries_log else None
        rows = list(page[:size])
        _forget_page_query(connection, logged)
        if not rows:
            return
        last = rows[-1][-width:]
        if remaining is not None:
            remaining -= len(rows)
        yield [row[:-width] for row in rows]


class StoredValue(models.Field):
    """A key as the database stores it: no converter on the way out, none on the way back."""

    def get_internal_type(self) -> str:
        return "StoredValue"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return value


def after(keys: Sequence[KeysetKey], aliases: Sequence[str], last: tuple, nulls_largest: bool) -> Q:
    """Rows strictly after ``last`` in the ordering: ``k0 > v0 OR (k0 = v0 AND k1 > v1) ...``,
    each comparison in its key's direction, NULLs placed as the database sorts them."""
    condition = Q()
    equal = Q()
    for key, alias, value in zip(keys, aliases, last, strict=True):
        nulls_first = key.nulls_come_first(nulls_largest)
        if value is None:
            beyond = Q(**{f"{alias}__isnull": False}) if nulls_first else None
            same = Q(**{f"{alias}__isnull": True})
        else:
            beyond = Q(**{f"{alias}__{'lt' if key.descending else 'gt'}": value})
            if key.nullable and not nulls_first:
                beyond |= Q(**{f"{alias}__isnull": True})
            same = Q(**{f"{alias}__exact": value})
        if beyond is not None:
            condition |= equal & beyond
        equal &= same
    return condition


def _forget_page_query(connection: Any, previous: dict | None) -> None:
    """Drop the page query just logged when only ``DEBUG = True`` logged it.

    With DEBUG on, Django keeps the SQL of up to 9,000 queries: one entry (a few KB with a
    join) per page would make memory grow with the table. Whoever captures queries on purpose
    (``assertNumQueries``, ``CaptureQueriesContext``) sets ``force_debug_cursor`` and keeps
    every entry; entries logged by others are never touched.
    """
    if connection.force_debug_cursor or not connection.queries_logged:
        return
    log = connection.queries_log
    if log and log[-1] is not previous:
        log.pop()
