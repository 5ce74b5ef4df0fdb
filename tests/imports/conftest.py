"""Helpers for the import tests: run an import, snapshot a table, read a reject file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from exports.imports import import_file
from exportsite.shop.models import Customer

DATA = Path(__file__).resolve().parent.parent / "data" / "imports"


@pytest.fixture
def data_file():
    def path(name: str) -> Path:
        return DATA / name

    return path


@pytest.fixture
def run_import(tmp_path):
    """Call import_file with a reject file in tmp_path; Customer and create mode by default."""

    def run(source, **kwargs):
        kwargs.setdefault("model", Customer)
        kwargs.setdefault("errors_path", tmp_path / "rejects.csv")
        return import_file(source=source, **kwargs)

    return run


def snapshot(model) -> list[tuple]:
    """Every row of ``model``'s table, every column, in primary-key order."""
    names = [f.attname for f in model._meta.concrete_fields]
    return list(model._base_manager.order_by("pk").values_list(*names))


def read_rejects(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
