"""Settings for the demo project, read from the environment (django-environ).

Everything a deployment changes comes from environment variables (or a ``.env`` file
beside ``manage.py``):

- ``DATABASE_URL``: default ``sqlite:///<project>/db.sqlite3``; for PostgreSQL
  ``postgres://user@host:5432/dbname``.
- ``SECRET_KEY``: a development default is used when ``DEBUG`` is on, and refused when off.
- ``DEBUG``: default ``True`` (this is a demo project); set ``DEBUG=False`` in production.
- ``ALLOWED_HOSTS``: comma-separated, default ``localhost,127.0.0.1,[::1]``.
- ``DISABLE_SERVER_SIDE_CURSORS``: default ``False``; ``True`` when ``DATABASE_URL`` goes through
  pgbouncer in transaction pooling mode (Django's server-side cursors outside a transaction
  break there; the exports' ``auto`` engine then pages with keyset where ``COPY`` does not apply).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development default while DEBUG is off: set SECRET_KEY in the "
        "environment."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "exports",
    "exportsite.shop",
    "exportsite.shapes",  # models with unusual key and column shapes, for the tests
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "exportsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "exportsite.wsgi.application"
ASGI_APPLICATION = "exportsite.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DISABLE_SERVER_SIDE_CURSORS", default=False
)
# Tests get their own database on the same server (pytest-django prefixes "test_").
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "exports": {
            "handlers": ["console"],
            "level": env.str("EXPORTS_LOG_LEVEL", default="WARNING"),
        }
    },
}

# The reusable app's own settings; every key is optional (see exports/conf.py for defaults).
EXPORTS = {
    "CHUNK_SIZE": env.int("EXPORTS_CHUNK_SIZE", default=5000),
}
