"""choose_write_strategy: one place decides how batches are checked and written."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS

from exports.imports.loaders import Loader
from exports.imports.plan import build_plan
from exports.imports.strategy import Transactions, WriteMethod, choose_write_strategy
from exportsite.shop.models import Customer, Order

pytestmark = pytest.mark.django_db
CUSTOMER = ["email", "name", "country", "created_at"]


def plan(model, header, *, mode="create", key=None):
    return build_plan(
        model, header, mode=mode, key=key, mapping=None, allowed=None, max_columns=100
    )


def choose(p, **options):
    options.setdefault("text_values", True)
    options.setdefault("on_error", "abort")
    options.setdefault("dry_run", False)
    options.setdefault("max_errors", None)
    return choose_write_strategy(p, using=DEFAULT_DB_ALIAS, **options)


@pytest.mark.sqlite
def test_sqlite_checks_every_batch_here_and_begins_immediate():
    strategy = choose(plan(Customer, CUSTOMER))
    assert strategy.transactions is Transactions.ONE
    assert (strategy.stream, strategy.overlap, strategy.json_text) == (False, False, False)
    assert strategy.write is WriteMethod.BULK_CREATE
    assert strategy.begin_immediate and not strategy.index_lookups
    assert choose(plan(Customer, CUSTOMER), on_error="skip").commits_each_batch
    dry = choose(plan(Customer, CUSTOMER), on_error="skip", dry_run=True)
    assert dry.rolls_back_each_batch  # a dry run on SQLite holds no lock between batches
    upsert = choose(plan(Customer, CUSTOMER, mode="upsert", key=["email"]))
    assert upsert.write is WriteMethod.BULK_UPSERT


@pytest.mark.postgres
def test_postgres_create_streams_and_overlaps_with_one_transaction():
    strategy = choose(plan(Order, ["customer", "total_cents", "created_at", "metadata"]))
    assert strategy.transactions is Transactions.ONE
    assert strategy.stream and strategy.overlap and strategy.json_text
    assert strategy.write is WriteMethod.COPY
    assert strategy.index_lookups and not strategy.begin_immediate


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("options", "overlap"),
    [
        pytest.param({"on_error": "skip"}, False, id="skip-mode-checkpoints"),
        pytest.param({"max_errors": 5}, False, id="max-errors"),
        pytest.param({"on_error": "skip", "dry_run": True}, True, id="dry-run-skip"),
    ],
)
def test_postgres_overlap_only_with_one_transaction_and_no_max_errors(options, overlap):
    strategy = choose(plan(Customer, CUSTOMER), **options)
    assert strategy.stream
    assert strategy.overlap is overlap


@pytest.mark.postgres
def test_postgres_checks_here_what_the_table_cannot():
    by_lookup = choose(plan(Order, ["customer__email", "total_cents", "created_at"]))
    assert not by_lookup.stream and by_lookup.write is WriteMethod.COPY
    json_values = choose(plan(Customer, CUSTOMER), text_values=False)
    assert json_values.stream and not json_values.json_text


@pytest.mark.postgres
def test_postgres_upsert_and_update():
    upsert = choose(plan(Customer, CUSTOMER, mode="upsert", key=["email"]))
    assert upsert.write is WriteMethod.COPY_UPSERT and not upsert.stream
    update = choose(plan(Customer, ["email", "name"], mode="update", key=["email"]))
    assert update.write is WriteMethod.BULK_UPDATE


def test_choosing_for_update_asks_nothing_of_the_database(django_assert_num_queries):
    p = plan(Customer, ["email", "name"], mode="update", key=["email"])
    with django_assert_num_queries(0):
        choose(p)


def test_a_loader_runs_no_query_until_asked(django_assert_num_queries):
    p = plan(Customer, CUSTOMER)
    strategy = choose(p)
    with django_assert_num_queries(0):
        loader = Loader(p, using=DEFAULT_DB_ALIAS, strategy=strategy)
    assert loader.update_fields == ["email", "name", "country", "created_at"]
