"""The admin import: button, upload (413 past the limit), validation page, confirm, rejects."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import override_settings
from django.urls import reverse

from exports import registry
from exports.imports import admin_views
from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory

from .conftest import DATA, snapshot

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:shop_customer_import")


def staff(*codenames: str) -> User:
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def upload(client, name: str, data: bytes, **fields):
    return client.post(
        UPLOAD,
        {"file": SimpleUploadedFile(name, data), "mode": "create", "encoding": "utf-8", **fields},
    )


def test_changelist_has_import_button(admin_client):
    page = admin_client.get(reverse("admin:shop_customer_changelist")).content.decode()
    assert f'<a href="{UPLOAD}" class="exports-import">Import</a>' in page


def test_no_button_without_import_permission(client):
    client.force_login(staff("view_customer", "add_customer"))
    page = client.get(reverse("admin:shop_customer_changelist")).content.decode()
    assert "exports-import" not in page
    assert client.get(UPLOAD).status_code == 403


def test_import_permission_and_add_allow_create_only(client):
    client.force_login(staff("import_customer", "add_customer", "view_customer"))
    page = client.get(UPLOAD)
    assert page.status_code == 200
    assert page.context["form"].fields["mode"].choices == [("create", "create")]


def test_upload_validate_confirm(admin_client):
    response = upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.rows_read, result.created, result.rejected) == (2, 2, 0)
    assert response.context["preview_rows"][0][:3] == ["ann@example.com", "Ann", "DE"]
    assert Customer.objects.count() == 0  # a dry run
    page = response.content.decode()
    assert "manage.py importdata shop.Customer FILE --key email" in page
    done = admin_client.post(response.context["confirm_url"])
    assert done.context["result"].created == 2
    assert Customer.objects.count() == 2


def test_validation_shows_first_errors_and_reject_file(admin_client):
    CustomerFactory.create_batch(2)
    before = snapshot(Customer)
    response = upload(admin_client, "nul.csv", (DATA / "nul.csv").read_bytes())
    result = response.context["result"]
    assert (result.created, result.rejected) == (1, 1)
    assert [(e.line, e.column) for e in result.first_errors] == [(3, "name")]
    rejects = admin_client.get(response.context["rejects_url"])
    assert rejects.status_code == 200
    # Consuming the stream closes the response (and the file): no explicit close().
    body = b"".join(rejects.streaming_content).decode()
    assert body.splitlines()[0] == "line,column,message,row"
    # Confirm with the default (all or nothing): nothing is written.
    done = admin_client.post(response.context["confirm_url"], {"on_error": "abort"})
    assert done.context["result"].committed is False
    assert snapshot(Customer) == before
    done = admin_client.post(response.context["confirm_url"], {"on_error": "skip"})
    assert done.context["result"].created == 1


def test_bad_header_is_shown_not_imported(admin_client):
    response = upload(admin_client, "u.csv", (DATA / "unknown_column.csv").read_bytes())
    assert response.context["file_error"] == (
        "The header does not fit shop.Customer: unknown columns: shoe_size."
    )


@override_settings(EXPORTS={"IMPORT_MAX_UPLOAD_SIZE": 100})
def test_upload_over_the_limit_is_413(admin_client):
    response = upload(admin_client, "big.csv", b"email,name\n" + b"x" * 500)
    assert response.status_code == 413
    assert response.context["form"].errors["file"] == [
        admin_views.TOO_LARGE.format(limit=filesizeformat(100))
    ]


def test_someone_elses_token_is_404(admin_client, client):
    response = upload(admin_client, "customers.csv", (DATA / "customers.csv").read_bytes())
    other = User.objects.create_superuser("other", password="pw")
    client.force_login(other)
    assert client.post(response.context["confirm_url"]).status_code == 404


def test_the_admins_order_export_imports_through_the_admin_without_undeclared_lookups(
    admin_client,
):
    """The admin's Order export has customer__email, which Order's import_fields do not name.

    The admin refuses that column (it would let an importer probe which e-mails exist);
    without it the same file imports and reproduces the rows.
    """
    OrderFactory.create_batch(3)
    before = snapshot(Order)
    fields = registry.get(Order).fields
    url = reverse("admin:shop_order_import")
    data = b"".join(prepare_export(queryset=Order.objects.all(), fields=fields))
    response = admin_client.post(
        url, {"file": SimpleUploadedFile("o.csv", data), "mode": "create", "encoding": "utf-8"}
    )
    assert response.context["file_error"] == (
        "The header does not fit shop.Order: unknown columns: customer__email."
    )
    declared = [f for f in fields if f != "customer__email"]
    data = b"".join(prepare_export(queryset=Order.objects.all(), fields=declared))
    Order.objects.all().delete()
    response = admin_client.post(
        url, {"file": SimpleUploadedFile("o.csv", data), "mode": "create", "encoding": "utf-8"}
    )
    assert response.context.get("file_error") is None
    assert (response.context["result"].created, response.context["result"].rejected) == (3, 0)
    done = admin_client.post(response.context["confirm_url"])
    assert done.context["result"].created == 3
    assert snapshot(Order) == before


def test_uploads_go_through_djangos_temporary_files_and_leave_none(
    admin_client, settings, tmp_path
):
    temporary, staging = tmp_path / "uploads", tmp_path / "staging"
    temporary.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temporary)
    settings.EXPORTS = {"IMPORT_STAGING_DIR": str(staging), "IMPORT_MAX_UPLOAD_SIZE": 1000}
    data = (DATA / "customers.csv").read_bytes()
    response = upload(admin_client, "customers.csv", data)
    assert response.context["result"].created == 2
    (token,) = [p.name for p in staging.iterdir()]
    staged = staging / token / "upload"
    assert staged.read_bytes() == data
    assert oct(staged.stat().st_mode & 0o777) == oct(0o600)
    assert list(temporary.iterdir()) == []  # moved, not copied
    assert upload(admin_client, "big.csv", b"x" * 5000).status_code == 413
    assert list(temporary.iterdir()) == []
    assert [p.name for p in staging.iterdir()] == [token]
