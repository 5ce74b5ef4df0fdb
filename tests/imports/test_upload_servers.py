"""Admin uploads to real servers (gunicorn for WSGI, uvicorn for ASGI), as a browser sends them.

Content-Length handling differs from the test client's: a server hands Django the declared
length, and the body arrives from a socket. Each server gets its own staging directory
(``IMPORT_STAGING_DIR`` through ``LIVE_EXPORTS_SETTINGS``), listed after every request.
"""

from __future__ import annotations

import gzip
import json
import re

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test.client import encode_multipart

from exports.imports import admin_views

from ..web.conftest import live_db, serve  # noqa: F401  (fixtures)

UPLOAD = "/admin/shop/customer/import/"
USER, PASSWORD = "importer", "live-import-password-123"
LIMIT = 100_000
CUSTOMERS = (
    b"email,name,country,created_at\nann@example.com,Ann,DE,2024-01-31T13:45:00.000000+00:00\n"
)
BOUNDARY = "LiveUploadBoundary"


@pytest.fixture
def server(live_db, serve, tmp_path):  # noqa: F811
    live_db.shell(
        "from django.contrib.auth.models import User\n"
        f"User.objects.filter(username={USER!r}).exists() or "
        f"User.objects.create_superuser({USER!r}, password={PASSWORD!r})"
    )
    staging = tmp_path / "staging"
    settings = {"IMPORT_MAX_UPLOAD_SIZE": LIMIT, "IMPORT_STAGING_DIR": str(staging)}
    started = serve(LIVE_EXPORTS_SETTINGS=json.dumps(settings))
    started.staging = staging
    return started


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/admin/login/",
            data={"csrfmiddlewaretoken": token, "username": USER, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text
        form = client.get(UPLOAD)
        client.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        yield client


def post(client, fields: dict) -> httpx.Response:
    """POST the fields in this order (the file first, the CSRF token last, if so given)."""
    body = encode_multipart(BOUNDARY, fields)
    return client.post(
        UPLOAD,
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def left(server) -> list[str]:
    return sorted(p.name for p in server.staging.iterdir()) if server.staging.exists() else []


def test_declared_content_length_over_the_limit_is_413(server, client):
    fields = {
        "file": upload("big.csv", CUSTOMERS + b"x" * (LIMIT + 100_000)),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": client.token,
    }
    response = post(client, fields)
    assert response.status_code == 413
    assert admin_views.TOO_LARGE.format(limit=filesizeformat(LIMIT)) in response.text
    assert left(server) == []


def test_over_the_limit_within_the_slack_with_the_token_last_is_413(server, client):
    fields = {
        "file": upload("big.csv", CUSTOMERS + b"x" * (LIMIT + 10)),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": client.token,
    }
    assert post(client, fields).status_code == 413
    assert left(server) == []


def test_a_bad_csrf_token_after_the_file_is_403_and_leaves_nothing(server, client):
    fields = {
        "file": upload("c.csv", CUSTOMERS + b"x" * 50_000),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": "x" * 64,
    }
    assert post(client, fields).status_code == 403
    assert left(server) == []


def test_refused_uploads_leave_nothing_and_a_good_one_is_kept(server, client):
    def fields(data: bytes, **extra):
        return {
            "file": upload("c.csv", data),
            "mode": "create",
            "encoding": "utf-8",
            "csrfmiddlewaretoken": client.token,
            **extra,
        }

    invalid = post(client, fields(CUSTOMERS, mode="nonsense"))
    assert invalid.status_code == 200
    assert "Select a valid choice. nonsense is not one of the available choices." in invalid.text
    bad_encoding = post(client, fields(CUSTOMERS, encoding="base64"))
    assert bad_encoding.status_code == 200
    assert "is not a character set for text files" in bad_encoding.text
    undecodable = post(client, fields(CUSTOMERS + b"b@example.com,Caf\xe9,FR,\n"))
    assert "is not valid utf-8 text" in undecodable.text
    assert left(server) == []
    good = post(client, fields(CUSTOMERS))
    assert good.status_code == 200 and "Confirm import" in good.text
    assert len(left(server)) == 1


def test_a_gzip_of_a_million_bad_lines_is_answered_with_the_limit(server, client):
    data = gzip.compress(b"email,name,country,created_at\n" + b"x\n" * 1_000_000, 9)
    fields = {
        "file": upload("bomb.csv.gz", data),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": client.token,
    }
    response = post(client, fields)
    assert response.status_code == 200
    assert "(IMPORT_MAX_ERRORS)" in response.text
    assert "Confirm import" not in response.text
    assert left(server) == []


def test_a_chunked_upload_without_a_length_is_411_and_leaves_nothing(server, client):
    fields = {
        "csrfmiddlewaretoken": client.token,
        "file": upload("c.csv", CUSTOMERS),
        "mode": "create",
        "encoding": "utf-8",
    }
    body = encode_multipart(BOUNDARY, fields)
    response = client.post(
        UPLOAD,
        content=iter([body[:100], body[100:]]),  # a generator: httpx sends it chunked
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 411
    assert admin_views.LENGTH_REQUIRED in response.text
    assert left(server) == []
