"""The admin import on a site of its own: an AdminSite subclass, a ModelAdmin with only
ImportAdminMixin (no export mixin), and no URLconf line for imports.

This module is the URLconf of its tests: the custom site, and the default one beside it (whose
instance the admin's ``{% url 'admin:...' %}`` names by default) to show that each page links
within its own site.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import NoReverseMatch, path, reverse

from exports.imports.admin_views import ImportAdminMixin
from exportsite.shop.models import Customer
from tests.accounts import PASSWORD, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

DATA = (
    b"email,name,country,created_at\n"
    b"ann@example.com,Ann,DE,2024-01-31T13:45:00.000000+00:00\n"
    b"bob@example.com,Bob,FR,2024-02-01T08:00:00.000000+00:00\n"
)
IMPORTER = ("shop.view_customer", "shop.import_customer", "shop.add_customer")


class BackOffice(admin.AdminSite):
    site_header = "Back office"


site = BackOffice(name="backoffice")


@admin.register(Customer, site=site)
class CustomerImportAdmin(ImportAdminMixin, admin.ModelAdmin):
    list_display = ["email", "name"]


@admin.register(Group, site=site)
class GroupAdmin(ImportAdminMixin, admin.ModelAdmin):
    """Has the mixin, but Group is not declared importable."""


urlpatterns = [path("backoffice/", site.urls), path("admin/", admin.site.urls)]


def csrf_token(client: Client) -> str:
    return client.cookies["csrftoken"].value


@pytest.fixture
def importer_client() -> Client:
    make_user("importer", perms=IMPORTER)
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="importer", password=PASSWORD)
    return client


def test_upload_validate_and_confirm_through_the_custom_site(importer_client):
    client = importer_client
    changelist = client.get("/backoffice/shop/customer/")
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert '<a href="/backoffice/shop/customer/import/" class="exports-import">Import</a>' in html
    assert "exports-all" not in html  # no export mixin, no export buttons

    form = client.get("/backoffice/shop/customer/import/")
    assert form.status_code == 200
    assert form.context["form"].fields["mode"].choices == [("create", "create")]
    # The page belongs to this site: its header, breadcrumbs and links.
    page = form.content.decode()
    assert "Back office" in page
    assert '<a href="/backoffice/">' in page
    assert 'href="/backoffice/shop/customer/"' in page

    checked = client.post(
        "/backoffice/shop/customer/import/",
        {
            "file": _file("customers.csv"),
            "mode": "create",
            "encoding": "utf-8",
            "csrfmiddlewaretoken": csrf_token(client),
        },
    )
    assert checked.status_code == 200
    result = checked.context["result"]
    assert (result.rows_read, result.created, result.rejected) == (2, 2, 0)
    assert not Customer.objects.exists()  # a dry run
    confirm_url = checked.context["confirm_url"]
    assert re.fullmatch(r"/backoffice/shop/customer/import/[\w-]+/confirm/", confirm_url)
    assert f'action="{confirm_url}"' in checked.content.decode()

    done = client.post(confirm_url, {"csrfmiddlewaretoken": csrf_token(client)})
    assert done.status_code == 200
    assert done.context["result"].created == 2
    rows = Customer.objects.order_by("email").values_list("email", "name", "country")
    assert list(rows) == [("ann@example.com", "Ann", "DE"), ("bob@example.com", "Bob", "FR")]


def test_no_url_of_the_old_import_urlconf():
    with pytest.raises(NoReverseMatch):
        reverse("exports_import:upload", args=("shop", "customer"))
    assert reverse("backoffice:shop_customer_import") == "/backoffice/shop/customer/import/"


def test_confirm_without_the_csrf_token_is_403(importer_client):
    client = importer_client
    client.get("/backoffice/shop/customer/import/")
    data = {"file": _file("c.csv"), "mode": "create", "encoding": "utf-8"}
    assert client.post("/backoffice/shop/customer/import/", data).status_code == 403
    assert not Customer.objects.exists()


def test_staff_without_the_import_permission_get_no_button_and_403(client):
    make_user("viewer", perms=("shop.view_customer", "shop.add_customer"))
    client.login(username="viewer", password=PASSWORD)
    assert "exports-import" not in client.get("/backoffice/shop/customer/").content.decode()
    assert client.get("/backoffice/shop/customer/import/").status_code == 403


def test_non_staff_go_to_this_sites_login(client):
    make_user("outsider", perms=IMPORTER, is_staff=False)
    client.login(username="outsider", password=PASSWORD)
    response = client.get("/backoffice/shop/customer/import/")
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/login/?next=")


def test_a_model_not_declared_importable_has_no_import(client):
    make_user("root", is_superuser=True)
    client.login(username="root", password=PASSWORD)
    assert "exports-import" not in client.get("/backoffice/auth/group/").content.decode()
    assert client.get("/backoffice/auth/group/import/").status_code == 404


def test_including_the_removed_import_urlconf_says_what_to_do():
    with pytest.raises(ImproperlyConfigured, match="ImportAdminMixin"):
        import exports.imports.urls  # noqa: F401


def _file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, DATA)


@pytest.mark.parametrize(
    ("username", "perms", "expected"),
    [
        ("importer", IMPORTER, "/backoffice/shop/customer/import/"),
        ("viewer", ("shop.view_customer",), ""),
    ],
)
def test_import_url_tag_finds_the_page_on_the_current_site(rf, username, perms, expected):
    from django.template import Context, Template

    request = rf.get("/backoffice/shop/customer/")
    request.user = make_user(username, perms=perms)
    request.current_app = "backoffice"
    template = Template("{% load exports_import %}{% import_url opts as url %}[{{ url }}]")
    assert template.render(Context({"request": request, "opts": Customer._meta})) == (
        f"[{expected}]"
    )
