"""Checkpoints for --resume: saved whole, loaded, and tied to their input and import."""

from __future__ import annotations

import json

import pytest

from exports.imports import ImportFileError
from exports.imports import checkpoint as checkpoints
from exports.imports import errors as E

POINT = checkpoints.Checkpoint(
    size=120,
    sha256="ab" * 32,
    model="shop.Customer",
    mode="create",
    records=40,
    line=41,
    created=38,
    updated=0,
    rejected=2,
    rejects_bytes=77,
)


def test_save_and_load_round_trip_with_no_partial_file_left(tmp_path):
    path = checkpoints.checkpoint_path(str(tmp_path / "r.csv"))
    assert path == str(tmp_path / "r.csv.checkpoint")
    assert checkpoints.load(path) is None
    checkpoints.save(path, POINT)
    assert checkpoints.load(path) == POINT
    with open(path) as handle:
        assert json.load(handle)["version"] == checkpoints.VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv.checkpoint"]
    checkpoints.remove(path)
    checkpoints.remove(path)  # already gone: no error
    assert checkpoints.load(path) is None


@pytest.mark.parametrize("content", ["{not json", '{"size": 1}', "[]"])
def test_an_unreadable_checkpoint_is_a_file_error(tmp_path, content):
    path = tmp_path / "r.csv.checkpoint"
    path.write_text(content)
    with pytest.raises(ImportFileError) as exc:
        checkpoints.load(str(path))
    assert str(exc.value).startswith(E.BAD_CHECKPOINT.format(checkpoint=path, error="")[:-1])


def test_a_checkpoint_matches_only_its_file_and_import():
    same = {"path": "c", "size": 120, "sha256": "ab" * 32, "model": "shop.Customer"}
    checkpoints.check_matches(POINT, mode="create", **same)
    with pytest.raises(ImportFileError) as exc:
        checkpoints.check_matches(POINT, mode="create", **(same | {"sha256": "cd" * 32}))
    reason = f"size 120 and hash {'ab' * 6}…"
    assert str(exc.value) == E.RESUME_OTHER_FILE.format(checkpoint="c", reason=reason)
    with pytest.raises(ImportFileError) as exc:
        checkpoints.check_matches(POINT, mode="upsert", **same)
    reason = "shop.Customer in create mode"
    assert str(exc.value) == E.RESUME_OTHER_IMPORT.format(checkpoint="c", reason=reason)


def test_checkpoint_file_says_how_many_records_are_done():
    fresh = checkpoints.CheckpointFile("c", 120, "ab" * 32)
    assert fresh.records_done == 0
    assert checkpoints.CheckpointFile("c", 120, "ab" * 32, POINT).records_done == 40
