"""System checks for settings.EXPORTS (exports/checks.py)."""

from __future__ import annotations

import pytest
from django.core.checks import Error

from exports import conf
from exports.checks import check_settings


def test_no_setting_is_fine(settings):
    del settings.EXPORTS

    assert check_settings() == []


def test_the_demo_settings_are_fine():
    assert check_settings() == []


def test_valid_values(settings):
    settings.EXPORTS = {
        "CHUNK_SIZE": 1,
        "ENGINE": "keyset",
        "HTTP_ESCAPE_FORMULAS": False,
        "HTTP_BOM": True,
    }

    assert check_settings() == []


def test_not_a_dict(settings):
    settings.EXPORTS = [("CHUNK_SIZE", 10)]

    assert check_settings() == [
        Error(
            "settings.EXPORTS must be a dict.",
            hint="For example EXPORTS = {'CHUNK_SIZE': 5000}.",
            id="exports.E001",
        )
    ]


def test_unknown_keys(settings):
    settings.EXPORTS = {"CHUNKSIZE": 10, "ENGNE": "auto"}

    assert check_settings() == [
        Error(
            "settings.EXPORTS has unknown keys: CHUNKSIZE, ENGNE.",
            hint=f"Known keys: {', '.join(sorted(conf.DEFAULTS))}.",
            id="exports.E002",
        )
    ]


@pytest.mark.parametrize("value", [0, -1, "5000", 2.5, True, None])
def test_bad_chunk_size(settings, value):
    settings.EXPORTS = {"CHUNK_SIZE": value}

    assert check_settings() == [
        Error(
            f"settings.EXPORTS['CHUNK_SIZE'] must be a positive integer, not {value!r}.",
            hint="Between 1,000 and 20,000 suits most tables.",
            id="exports.E003",
        )
    ]


@pytest.mark.parametrize("value", ["fast", "COPY", None])
def test_bad_engine(settings, value):
    settings.EXPORTS = {"ENGINE": value}

    assert check_settings() == [
        Error(
            f"settings.EXPORTS['ENGINE'] must be one of auto, cursor, keyset, copy, not {value!r}.",
            id="exports.E004",
        )
    ]


@pytest.mark.parametrize("key", ["HTTP_ESCAPE_FORMULAS", "HTTP_BOM"])
@pytest.mark.parametrize("value", [1, "yes", None])
def test_bad_booleans(settings, key, value):
    settings.EXPORTS = {key: value}

    assert check_settings() == [
        Error(f"settings.EXPORTS[{key!r}] must be True or False.", id="exports.E005")
    ]


def test_several_problems_are_all_reported(settings):
    settings.EXPORTS = {"CHUNK_SIZE": 0, "ENGINE": "x", "HTTP_BOM": "no", "OOPS": 1}

    assert [error.id for error in check_settings()] == [
        "exports.E002",
        "exports.E003",
        "exports.E004",
        "exports.E005",
    ]


def test_the_check_is_registered(settings):
    from django.core import checks

    settings.EXPORTS = {"CHUNK_SIZE": 0}

    assert [e.id for e in checks.run_checks() if e.id.startswith("exports.")] == ["exports.E003"]


def test_settings_are_read_through_the_cached_accessor(settings):
    settings.EXPORTS = {"CHUNK_SIZE": 7}
    assert conf.get("CHUNK_SIZE") == 7
    assert conf.get("ENGINE") == "auto"

    settings.EXPORTS = {"CHUNK_SIZE": 9}
    assert conf.get("CHUNK_SIZE") == 9


@pytest.mark.parametrize(
    "key",
    [
        "IMPORT_MAX_DECOMPRESSED_SIZE",
        "IMPORT_MAX_ROWS",
        "IMPORT_MAX_ERRORS",
        "IMPORT_MAX_REJECTS_SIZE",
    ],
)
def test_admin_import_bounds_must_be_positive_integers(settings, key):
    settings.EXPORTS = {key: 0}

    assert [(e.msg, e.id) for e in check_settings()] == [
        (f"settings.EXPORTS[{key!r}] must be a positive integer, not 0.", "exports.E006")
    ]


@pytest.mark.parametrize("value", ["relative/dir", 5])
def test_staging_dir_must_be_an_absolute_path(settings, value):
    settings.EXPORTS = {"IMPORT_STAGING_DIR": value}

    assert [(e.msg, e.id) for e in check_settings()] == [
        (
            f"settings.EXPORTS['IMPORT_STAGING_DIR'] must be an absolute path or None, "
            f"not {value!r}.",
            "exports.E007",
        )
    ]


def test_staging_dir_may_be_absolute_or_none(settings, tmp_path):
    settings.EXPORTS = {"IMPORT_STAGING_DIR": str(tmp_path)}
    assert check_settings() == []
    settings.EXPORTS = {"IMPORT_STAGING_DIR": None}
    assert check_settings() == []
