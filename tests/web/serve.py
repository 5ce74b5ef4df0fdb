"""WSGI and ASGI entry points for the real-server tests: ``tests.web.serve:wsgi`` / ``:asgi``.

The demo project as deployed, plus test-only switches read from the environment:
``LIVE_EXPORTS_ENGINE`` forces an export engine, ``LIVE_STALL_TIMEOUT`` sets
``EXPORTS["CLIENT_STALL_TIMEOUT"]`` (seconds), and ``LIVE_FAIL_AFTER_CHUNKS=N`` makes the
database "fail" (a ``django.db.OperationalError``) after N data chunks of every export, to
check that a failure after the first byte aborts the connection. ``LIVE_EXPORTS_SETTINGS``
(JSON) is merged into ``settings.EXPORTS`` (upload limits, the staging directory).
"""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exportsite.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import OperationalError  # noqa: E402

from exports.stream import Export  # noqa: E402

INJECTED = "injected failure: server closed the connection unexpectedly"

if extra := os.environ.get("LIVE_EXPORTS_SETTINGS"):
    settings.EXPORTS = {**settings.EXPORTS, **json.loads(extra)}

if engine := os.environ.get("LIVE_EXPORTS_ENGINE"):
    settings.EXPORTS = {**settings.EXPORTS, "ENGINE": engine}

if stall := os.environ.get("LIVE_STALL_TIMEOUT"):
    settings.EXPORTS = {**settings.EXPORTS, "CLIENT_STALL_TIMEOUT": float(stall)}

if fail_after := int(os.environ.get("LIVE_FAIL_AFTER_CHUNKS", "0")):
    real_chunks = Export._chunks

    def failing_chunks(self):
        chunks = real_chunks(self)
        try:
            for _ in range(fail_after):
                yield next(chunks)
            raise OperationalError(INJECTED)
        finally:
            chunks.close()

    Export._chunks = failing_chunks

wsgi = get_wsgi_application()
asgi = get_asgi_application()
