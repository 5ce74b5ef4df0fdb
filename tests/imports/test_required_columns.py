"""Which columns a file must have: every rule of "is this column required", by field shape.

A key without a default is required like any other column; a key with a default, a database
default, an auto field and a generated column are not; a NULL key in update and upsert names
no row.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command

from exports.imports import ImportFileError, import_file
from exports.imports import errors as E
from exports.imports.plan import is_required
from exportsite.shapes.models import ManualKey, Reading, UuidKey
from exportsite.shop.models import Order

from .conftest import read_rejects

pytestmark = pytest.mark.django_db


def run(tmp_path, model, text: str, **kwargs):
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return import_file(model=model, source=path, errors_path=tmp_path / "r.csv", **kwargs)


def refused(model, problems: str) -> tuple[str]:
    return (E.HEADER_MISMATCH.format(model=model._meta.label, problems=problems),)


@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_a_key_without_default_is_a_required_column(tmp_path, mode):
    key = {"key": ["name"]} if mode == "upsert" else {}
    with pytest.raises(ImportFileError) as info:
        run(tmp_path, ManualKey, "name\nx\n", mode=mode, **key)
    assert info.value.args == refused(ManualKey, E.MISSING_COLUMNS.format(names="id"))
    assert not ManualKey.objects.exists()


def test_a_key_without_default_imports_from_the_file(tmp_path):
    result = run(tmp_path, ManualKey, "id,name\n7,x\n9,y\n")
    assert result.complete and result.created == 2
    assert list(ManualKey.objects.order_by("id").values_list("id", "name")) == [
        (7, "x"),
        (9, "y"),
    ]


def test_a_key_with_a_default_is_made_for_each_row(tmp_path):
    result = run(tmp_path, UuidKey, "name\nx\ny\n")
    assert result.complete and result.created == 2
    keys = list(UuidKey.objects.values_list("id", flat=True))
    assert len(set(keys)) == 2 and all(isinstance(k, uuid.UUID) for k in keys)


def test_database_default_auto_and_generated_columns_are_not_required(tmp_path):
    result = run(tmp_path, Reading, "code,quantity\nA,4\n")
    assert result.complete and result.created == 1
    reading = Reading.objects.get()
    assert (reading.count, reading.doubled, reading.pk is not None) == (0, 8, True)


def test_a_generated_column_in_the_file_is_ignored(tmp_path):
    # The database computes it (4 * 2), whatever the file says.
    result = run(tmp_path, Reading, "code,quantity,doubled\nA,4,999\n")
    assert result.complete and result.created == 1
    assert Reading.objects.get().doubled == 8


def test_exportdata_files_with_a_generated_column_round_trip(tmp_path):
    run(tmp_path, Reading, "code,quantity,label\nA,4,x\nB,5,\n")
    path = tmp_path / "readings.csv"
    call_command("exportdata", "shapes.Reading", "-o", str(path), verbosity=0)
    first = path.read_bytes()
    assert b"doubled" in first.splitlines()[0]
    Reading.objects.all().delete()
    call_command("importdata", "shapes.Reading", str(path), verbosity=0)
    path.unlink()
    call_command("exportdata", "shapes.Reading", "-o", str(path), verbosity=0)
    assert path.read_bytes() == first


@pytest.mark.parametrize(
    ("field", "required"),
    [
        (ManualKey._meta.pk, True),
        (UuidKey._meta.pk, False),
        (Reading._meta.pk, False),
        (Reading._meta.get_field("code"), True),
        (Reading._meta.get_field("quantity"), True),
        (Reading._meta.get_field("count"), False),  # db_default
        (Reading._meta.get_field("doubled"), False),  # generated
        (Reading._meta.get_field("amount"), False),  # null
        (Reading._meta.get_field("note"), False),  # blank text: ""
        (Reading._meta.get_field("parent"), False),  # nullable foreign key
        (Order._meta.get_field("customer"), True),
        (Order._meta.get_field("status"), False),  # default
    ],
    ids=lambda v: v if isinstance(v, bool) else f"{v.model.__name__}.{v.name}",
)
def test_is_required(field, required):
    assert is_required(field) is required


@pytest.mark.parametrize("mode", ["update", "upsert"])
def test_a_null_key_names_no_row(tmp_path, mode):
    Reading.objects.create(code="A", quantity=1, ref=None)
    result = run(tmp_path, Reading, "ref,code,quantity\n,B,2\n,C,3\n", mode=mode, key=["ref"])
    assert (result.created, result.updated, result.rejected) == (0, 0, 2)
    assert [r["message"] for r in read_rejects(tmp_path / "r.csv")] == [
        E.KEY_IS_NULL.format(fields="ref"),
        E.KEY_IS_NULL.format(fields="ref"),
    ]
    assert list(Reading.objects.values_list("code", flat=True)) == ["A"]
