"""The demo project's settings come from the environment (django-environ)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import exportsite.settings in a fresh interpreter with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    clean.pop("DATABASE_URL", None)
    clean.update(env)
    code = (
        "import exportsite.settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.ALLOWED_HOSTS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_defaults_are_a_development_sqlite_database():
    result = load_settings()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"True django.db.backends.sqlite3 {ROOT / 'db.sqlite3'} ['localhost', '127.0.0.1', '[::1]']"
    )


def test_database_url_and_hosts_come_from_the_environment():
    result = load_settings(
        DATABASE_URL="postgres://someone@db.example:5433/shop",
        ALLOWED_HOSTS="exports.example,admin.example",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True django.db.backends.postgresql shop ['exports.example', 'admin.example']"
    )


def test_the_development_secret_key_is_refused_when_debug_is_off():
    result = load_settings(DEBUG="False")

    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is the development default "
        "while DEBUG is off: set SECRET_KEY in the environment."
    ) in result.stderr


@pytest.mark.parametrize("debug", ["False", "0", "off"])
def test_a_real_secret_key_with_debug_off_is_accepted(debug):
    result = load_settings(DEBUG=debug, SECRET_KEY="a-real-secret-from-the-vault")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False ")
