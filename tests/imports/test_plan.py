"""build_plan: the header checked against the model before any row is read."""

from __future__ import annotations

import pytest

from exports.imports import ImportFileError
from exports.imports import errors as E
from exports.imports.plan import build_plan, is_required, resolve_key
from exportsite.shop.models import Customer, Order

CUSTOMER = ["email", "name", "country", "created_at"]


def plan(model, header, **kwargs):
    kwargs.setdefault("mode", "create")
    kwargs.setdefault("key", None)
    kwargs.setdefault("mapping", None)
    kwargs.setdefault("allowed", None)
    kwargs.setdefault("max_columns", 100)
    return build_plan(model, header, **kwargs)


def test_targets_follow_the_header_and_defaults_fill_the_rest():
    p = plan(Order, ["customer__email", "total_cents", "created_at"])
    assert [(t.index, t.name, t.path) for t in p.targets] == [
        (0, "customer__email", "customer__email"),
        (1, "total_cents", "total_cents"),
        (2, "created_at", "created_at"),
    ]
    assert p.targets[0].field.name == "customer"
    assert p.targets[0].lookup.name == "email"  # a foreign key given by a unique field
    assert p.targets[0].value_field is p.targets[0].lookup
    assert p.width == 3
    assert {f.name for f in p.defaults} == {
        "status", "currency", "discount", "is_gift", "shipped_on", "note", "reference",
        "metadata",
    }  # fmt: skip
    written = [f.name for f in p.written_fields()]
    assert written[:3] == ["customer", "total_cents", "created_at"]
    assert "id" not in written  # the database numbers an auto field


def test_every_header_problem_is_reported_at_once():
    with pytest.raises(ImportFileError) as exc:
        plan(Customer, ["email", "email", "colour", "created_at"])
    problems = "; ".join(
        [
            E.UNKNOWN_COLUMNS.format(names="colour"),
            E.DUPLICATE_COLUMNS.format(names="email"),
            E.MISSING_COLUMNS.format(names="name, country"),
        ]
    )
    assert str(exc.value) == E.HEADER_MISMATCH.format(model="shop.Customer", problems=problems)


def test_mapping_renames_and_ignores_columns():
    p = plan(
        Customer,
        ["E-mail", "name", "country", "created_at", "junk"],
        mapping={"E-mail": "email", "junk": ""},
    )
    assert [(t.name, t.path) for t in p.targets][0] == ("E-mail", "email")
    assert [t.name for t in p.targets] == ["E-mail", "name", "country", "created_at"]
    assert p.width == 5
    with pytest.raises(ImportFileError, match="--map names columns the file does not have: x"):
        plan(Customer, CUSTOMER, mapping={"x": "email"})


def test_limits_and_empty_names():
    with pytest.raises(ImportFileError) as exc:
        plan(Customer, CUSTOMER, max_columns=3)
    assert str(exc.value) == E.TOO_MANY_COLUMNS.format(count=4, limit=3)
    with pytest.raises(ImportFileError) as exc:
        plan(Customer, ["email", " ", "country"])
    assert str(exc.value) == E.HEADER_EMPTY_NAME.format(position=2)


def test_allowed_fields_hide_the_others():
    with pytest.raises(ImportFileError, match="unknown columns: country"):
        plan(Customer, CUSTOMER, allowed=["email", "name", "created_at"])


def test_keys_for_update_and_upsert():
    p = plan(Customer, ["email", "name"], mode="update", key=["email"])
    assert [f.name for f in p.key] == ["email"]
    assert p.defaults == ()  # update sets only what the file has
    with pytest.raises(ImportFileError) as exc:
        resolve_key(Customer, ["name"], mode="upsert")
    assert str(exc.value) == E.KEY_NOT_UNIQUE.format(key="name", model="shop.Customer")
    with pytest.raises(ImportFileError) as exc:
        plan(Customer, ["name", "email"], mode="update", key=None)
    assert str(exc.value) == E.KEY_NEEDED.format(mode="update", example="email")
    with pytest.raises(ImportFileError) as exc:
        plan(Order, ["id", "status"], mode="update", key=["reference"])
    assert str(exc.value) == E.KEY_NOT_IN_FILE.format(field="reference")
    assert resolve_key(Customer, ["email"], mode="create") == ()


def test_file_unique_sets_are_the_unique_fields_present():
    p = plan(Customer, ["id", *CUSTOMER])
    sets = [([f.name for f in fields], positions, column) for fields, positions, column in (
        p.file_unique_sets
    )]  # fmt: skip
    assert sets == [(["id"], [0], "id"), (["email"], [1], "email")]
    assert plan(Customer, ["name", "country", "email", "created_at"]).file_unique_sets[0][1] == [2]


def test_required_fields():
    fields = {f.name: f for f in Order._meta.concrete_fields}
    assert is_required(fields["total_cents"])
    assert not is_required(fields["status"])  # has a default
    assert not is_required(fields["note"])  # blank text
    assert not is_required(fields["id"])
