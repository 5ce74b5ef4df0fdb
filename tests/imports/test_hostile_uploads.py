"""The admin import against hostile uploads: what one request may cost, and what it leaves behind.

Every upload here goes to a staging directory of the test's own (``IMPORT_STAGING_DIR``), so
"nothing left behind" is checked by listing it.
"""

from __future__ import annotations

import gzip
import os
import stat

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from exports.imports import admin_views, uploads
from exports.imports import errors as E
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory

from .conftest import DATA

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:shop_customer_import")
HEADER = b"email,name,country,created_at\n"
GOOD = b"c%d@example.com,C,DE,2024-01-31T13:45:00.000000+00:00\n"
BAD = b"bad-%d,C,DE,2024-01-31T13:45:00.000000+00:00\n"


@pytest.fixture
def staging(settings, tmp_path):
    root = tmp_path / "staging"
    settings.EXPORTS = {**settings.EXPORTS, "IMPORT_STAGING_DIR": str(root)}
    return root


@pytest.fixture
def limits(settings, staging):
    def set_limits(**values: int) -> None:
        settings.EXPORTS = {**settings.EXPORTS, **values}

    return set_limits


@pytest.fixture
def root_user():
    return User.objects.create_superuser("root", password="pw")


@pytest.fixture
def admin_client(client, root_user):
    client.force_login(root_user)
    return client


@pytest.fixture
def csrf_client(root_user):
    """A client that enforces CSRF, with its cookie set and the form's token at hand."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(root_user)
    client.token = client.get(UPLOAD).context["csrf_token"]
    return client


def left(staging) -> list[str]:
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def upload(client, name: str, data: bytes, **fields):
    return client.post(
        UPLOAD,
        {"file": SimpleUploadedFile(name, data), "mode": "create", "encoding": "utf-8", **fields},
    )


def too_large(limit: str) -> list[str]:
    return [admin_views.TOO_LARGE.format(limit=limit)]


# Item 7: oversized, refused and failed uploads.


def test_declared_content_length_over_the_limit_is_413_before_the_body_is_read(
    admin_client, limits, staging
):
    limits(IMPORT_MAX_UPLOAD_SIZE=100)
    body = encode_multipart(
        BOUNDARY, {"file": SimpleUploadedFile("big.csv", HEADER + b"x" * 100_000), "mode": "create"}
    )
    # The test client's payload refuses a read past what it holds: the body is never read.
    response = admin_client.generic(
        "POST", UPLOAD, body[:10], content_type=MULTIPART_CONTENT, CONTENT_LENGTH=str(len(body))
    )
    assert response.status_code == 413
    assert response.context["form"].errors["file"] == too_large(filesizeformat(100))
    assert left(staging) == []


def test_over_the_limit_with_the_csrf_token_after_the_file_is_413(csrf_client, limits, staging):
    limits(IMPORT_MAX_UPLOAD_SIZE=100)
    data = {
        "file": SimpleUploadedFile("big.csv", HEADER + b"x" * 500),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": csrf_client.token,
    }
    response = csrf_client.post(UPLOAD, data)
    assert response.status_code == 413
    assert left(staging) == []


def test_csrf_failure_with_the_token_after_the_file_leaves_nothing(csrf_client, staging):
    data = {
        "file": SimpleUploadedFile("customers.csv", (DATA / "customers.csv").read_bytes()),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": "x" * 64,
    }
    response = csrf_client.post(UPLOAD, data)
    assert response.status_code == 403
    assert left(staging) == []


def test_csrf_token_after_the_file_is_accepted(csrf_client, staging):
    data = {
        "file": SimpleUploadedFile("customers.csv", (DATA / "customers.csv").read_bytes()),
        "mode": "create",
        "encoding": "utf-8",
        "csrfmiddlewaretoken": csrf_client.token,
    }
    response = csrf_client.post(UPLOAD, data)
    assert response.status_code == 200
    assert response.context["result"].created == 2
    (token,) = left(staging)
    assert token in response.context["confirm_url"]


def test_invalid_form_leaves_nothing(admin_client, staging):
    response = upload(admin_client, "customers.csv", b"email\na@example.com\n", mode="destroy")
    assert response.status_code == 200
    assert "mode" in response.context["form"].errors
    assert left(staging) == []


def test_every_file_part_but_the_kept_one_is_removed(admin_client, staging):
    good = (DATA / "customers.csv").read_bytes()
    response = admin_client.post(
        UPLOAD,
        {
            "extra": SimpleUploadedFile("one.csv", b"junk" * 1000),
            "file": SimpleUploadedFile("customers.csv", good),
            "mode": "create",
            "encoding": "utf-8",
        },
    )
    assert response.context["result"].created == 2
    assert len(left(staging)) == 1


def test_a_decode_error_leaves_nothing(admin_client, staging):
    response = upload(admin_client, "latin1.csv", (DATA / "latin1.csv").read_bytes())
    assert response.status_code == 200
    assert response.context["result"].stopped.startswith("line 3 (byte offset ")
    assert "confirm_url" not in response.context
    assert left(staging) == []


def test_a_file_error_leaves_nothing(admin_client, staging):
    response = upload(admin_client, "u.csv", (DATA / "unknown_column.csv").read_bytes())
    assert response.context["file_error"].startswith("The header does not fit")
    assert left(staging) == []


def test_a_server_error_leaves_nothing(admin_client, staging, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(admin_views, "run", fail)
    with pytest.raises(RuntimeError):
        upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert left(staging) == []


# Item 8: encodings that are not character sets.

NOT_CHARSETS = ["base64", "hex", "rot13", "zlib_codec", "uu", "punycode", "bz2_codec", "idna"]


@pytest.mark.parametrize("encoding", NOT_CHARSETS)
def test_bytes_to_bytes_encodings_are_a_form_error(admin_client, staging, encoding):
    response = upload(
        admin_client, "customers.csv", (DATA / "customers.csv").read_bytes(), encoding=encoding
    )
    assert response.status_code == 200
    assert response.context["form"].errors["encoding"] == [
        E.NOT_TEXT_ENCODING.format(encoding=encoding)
    ]
    assert left(staging) == []


def test_utf16_named_for_a_utf8_file_is_a_file_error(admin_client, staging):
    response = upload(
        admin_client, "customers.csv", (DATA / "customers.csv").read_bytes(), encoding="utf-16"
    )
    assert response.status_code == 200
    assert response.context["file_error"] == E.DECODE_FAILED.format(
        line=1, encoding="utf-16", error="UTF-16 stream does not start with BOM"
    )
    assert left(staging) == []


# Item 4: what one request may cost.


def test_a_gzip_of_a_million_bad_lines_stops_at_the_error_limit(admin_client, staging):
    data = gzip.compress(HEADER + b"x\n" * 1_000_000, 9)
    assert len(data) < 3000
    response = upload(admin_client, "bomb.csv.gz", data)
    assert response.status_code == 200
    result = response.context["result"]
    assert result.stopped == admin_views.STOPPED_AT_MAX_ERRORS.format(limit=1000)
    assert (result.rows_read, result.rejected) == (1000, 1000)
    assert len(result.first_errors) == admin_views.FIRST_ERRORS
    assert "confirm_url" not in response.context and "rejects_url" not in response.context
    page = response.content.decode()
    assert "IMPORT_MAX_ERRORS" in page
    assert "Confirm import" not in page
    assert left(staging) == []


def test_decompressed_size_is_bounded(admin_client, limits, staging):
    limits(IMPORT_MAX_DECOMPRESSED_SIZE=20_000)
    rows = b"".join(GOOD % i for i in range(2000))
    response = upload(admin_client, "many.csv.gz", gzip.compress(HEADER + rows))
    assert response.context["result"].stopped == E.DECOMPRESSED_TOO_LARGE.format(limit=20_000)
    assert Customer.objects.count() == 0
    assert left(staging) == []


def test_decompressed_size_below_the_first_read_is_a_file_error(admin_client, limits, staging):
    limits(IMPORT_MAX_DECOMPRESSED_SIZE=100)
    response = upload(
        admin_client, "c.csv.gz", gzip.compress((DATA / "customers.csv").read_bytes())
    )
    assert response.context["file_error"] == E.DECOMPRESSED_TOO_LARGE.format(limit=100)
    assert left(staging) == []


def test_a_plain_file_is_not_held_to_the_decompressed_limit(admin_client, limits, staging):
    limits(IMPORT_MAX_DECOMPRESSED_SIZE=10)
    response = upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert response.context["result"].created == 2


def test_rows_are_bounded(admin_client, limits, staging):
    limits(IMPORT_MAX_ROWS=5, CHUNK_SIZE=2)
    rows = b"".join(GOOD % i for i in range(10))
    response = upload(admin_client, "many.csv", HEADER + rows)
    result = response.context["result"]
    assert result.stopped == E.TOO_MANY_ROWS.format(limit=5)
    assert result.rows_read == 4  # the batch that held the sixth row was not read
    assert left(staging) == []


def test_exactly_the_row_limit_is_accepted(admin_client, limits, staging):
    limits(IMPORT_MAX_ROWS=5)
    rows = b"".join(GOOD % i for i in range(5))
    response = upload(admin_client, "five.csv", HEADER + rows)
    assert (response.context["result"].created, response.context["result"].stopped) == (5, "")


def test_the_reject_file_is_bounded(admin_client, limits, staging):
    limits(IMPORT_MAX_REJECTS_SIZE=2000)
    rows = b"".join(BAD % i for i in range(200))
    response = upload(admin_client, "bad.csv", HEADER + rows)
    result = response.context["result"]
    assert result.stopped == E.REJECTS_TOO_LARGE.format(limit=2000)
    assert left(staging) == []


def test_a_check_with_rejected_rows_keeps_the_upload_and_a_bounded_reject_file(
    admin_client, limits, staging
):
    limits(IMPORT_MAX_REJECTS_SIZE=100_000)
    rows = GOOD % 0 + b"".join(BAD % i for i in range(50))
    response = upload(admin_client, "bad.csv", HEADER + rows)
    result = response.context["result"]
    assert (result.rejected, result.stopped) == (50, "")
    (token,) = left(staging)
    assert 0 < os.path.getsize(staging / token / "rejects.csv") <= 100_000


# Item 13: only declared columns from the admin.


def test_an_undeclared_lookup_column_is_refused(admin_client, staging):
    customer = CustomerFactory()
    url = reverse("admin:shop_order_import")
    data = (
        f"customer__email,status,total_cents,currency,reference\n{customer.email},new,100,EUR,R-1\n"
    ).encode()
    response = admin_client.post(
        url, {"file": SimpleUploadedFile("o.csv", data), "mode": "create", "encoding": "utf-8"}
    )
    assert response.context["file_error"].startswith(
        "The header does not fit shop.Order: unknown columns: customer__email;"
    )
    assert Order.objects.count() == 0


# Item 15: the staging directory.


def test_staging_is_created_private(admin_client, staging):
    upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert stat.S_IMODE(staging.stat().st_mode) == 0o700
    (token,) = left(staging)
    assert stat.S_IMODE((staging / token).stat().st_mode) == 0o700


def test_default_staging_is_per_user_in_the_temporary_directory(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(uploads.tempfile, "gettempdir", lambda: str(tmp_path))
    root = uploads.ensure_staging()
    assert root == tmp_path / f"exports-imports-{os.geteuid()}"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_an_existing_staging_directory_of_ours_is_made_private(staging):
    staging.mkdir(mode=0o755)
    os.chmod(staging, 0o755)
    assert uploads.ensure_staging() == staging
    assert stat.S_IMODE(staging.stat().st_mode) == 0o700


def test_a_symlinked_staging_directory_is_refused(admin_client, staging, tmp_path, caplog):
    target = tmp_path / "elsewhere"
    target.mkdir()
    staging.symlink_to(target)
    with pytest.raises(uploads.StagingError) as info:
        uploads.ensure_staging()
    assert info.value.args == (uploads.STAGING_SYMLINK.format(path=staging),)
    response = upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert response.status_code == 503
    assert response.context["file_error"] == admin_views.STAGING_UNSAFE
    assert uploads.STAGING_SYMLINK.format(path=staging) in caplog.messages
    assert list(target.iterdir()) == []


def test_a_staging_directory_owned_by_another_user_is_refused(admin_client, staging, monkeypatch):
    staging.mkdir(mode=0o700)
    owner = staging.stat().st_uid
    monkeypatch.setattr(uploads.os, "geteuid", lambda: owner + 1)
    with pytest.raises(uploads.StagingError) as info:
        uploads.ensure_staging()
    assert info.value.args == (uploads.STAGING_OWNER.format(path=staging, uid=owner),)
    response = upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert response.status_code == 503
    assert left(staging) == []


def test_confirm_and_rejects_refuse_an_unsafe_staging_directory(admin_client, staging, tmp_path):
    response = upload(admin_client, "nul.csv", (DATA / "nul.csv").read_bytes())
    moved = tmp_path / "moved"
    staging.rename(moved)
    staging.symlink_to(moved)
    assert admin_client.post(response.context["confirm_url"]).status_code == 503
    assert admin_client.get(response.context["rejects_url"]).status_code == 503
