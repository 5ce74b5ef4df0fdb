"""A real browser (Playwright driving Debian's chromium) exporting from the Order changelist."""

from __future__ import annotations

from pathlib import Path

import pytest

from exports.registry import get
from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from tests.accounts import ORDER_EXPORTER, PASSWORD, make_user
from tests.factories import CustomerFactory, OrderFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    # Playwright's sync API runs an event loop in the test's thread; the ORM calls made here
    # (fixtures, expected bytes, the database flush after each test) are still synchronous.
    # Module-scoped so that it outlives the flush.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def admin_page(page, live_server):
    make_user("exporter", perms=ORDER_EXPORTER)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/shop/order/")
    page.fill("#id_username", "exporter")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/shop/order/")
    return page


def expected_csv(queryset) -> bytes:
    export = prepare_export(
        queryset=queryset, fields=get(Order).fields, escape_formulas=True, format="csv"
    )
    return b"".join(export)


def download(page, click) -> tuple[str, bytes]:
    with page.expect_download() as info:
        click()
    done = info.value
    return done.suggested_filename, Path(done.path()).read_bytes()


def run_action(page, action: str) -> tuple[str, bytes]:
    page.select_option('select[name="action"]', action)
    return download(page, lambda: page.click('button[name="index"]'))


def test_export_selected_rows(admin_page):
    customer = CustomerFactory()
    orders = OrderFactory.create_batch(6, customer=customer, note="=cmd|' /C calc'!A0")
    admin_page.reload()
    picked = [orders[1].pk, orders[4].pk]
    for pk in picked:
        admin_page.check(f'input[name="_selected_action"][value="{pk}"]')
    name, body = run_action(admin_page, "export_selected_csv")
    assert name.startswith("orders-") and name.endswith(".csv")
    assert body == expected_csv(Order.objects.filter(pk__in=picked))
    assert body.count(b"\n") == 3
    assert b"'=cmd" in body


@pytest.fixture
def mixed_orders():
    customer = CustomerFactory()
    OrderFactory.create_batch(130, customer=customer, status="paid")
    OrderFactory.create_batch(25, customer=customer, status="cancelled")


def test_select_all_with_a_filter(admin_page, mixed_orders):
    admin_page.reload()
    admin_page.click('#changelist-filter a:text-is("Paid")')
    admin_page.wait_for_url("**status__exact=paid**")
    admin_page.check("#action-toggle")
    admin_page.click('.question a:has-text("Select all")')  # across the two pages
    name, body = run_action(admin_page, "export_selected_csv")
    assert body == expected_csv(Order.objects.filter(status="paid"))
    assert body.count(b"\n") == 131


def test_export_all_matching_button(admin_page, mixed_orders):
    admin_page.goto(admin_page.url + "?status__exact=cancelled")
    button = admin_page.locator("a.exports-all")
    assert button.text_content() == "Export all 25 matching"
    name, body = download(admin_page, button.click)
    assert body == expected_csv(Order.objects.filter(status="cancelled"))


def test_column_picker(admin_page, mixed_orders):
    admin_page.goto(admin_page.url + "?status__exact=cancelled")
    admin_page.click("a.exports-choose")
    for field in get(Order).fields:
        if field not in ("id", "status"):
            admin_page.uncheck(f'input[name="_export_fields"][value="{field}"]')
    admin_page.check('input[name="_export_format"][value="tsv"]')
    name, body = download(admin_page, lambda: admin_page.click("#export-form input[type=submit]"))
    assert name.endswith(".tsv")
    pks = Order.objects.filter(status="cancelled").values_list("pk", flat=True)
    assert body == b"id\tstatus\n" + b"".join(b"%d\tcancelled\n" % pk for pk in pks)


def test_import_upload_check_and_confirm(page, live_server, tmp_path):
    """The Import button, the upload form, the check and Confirm, as a person clicks them."""
    make_user("importer", perms=("shop.view_customer", "shop.import_customer", "shop.add_customer"))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/shop/customer/")
    page.fill("#id_username", "importer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/shop/customer/")
    page.click("a.exports-import")
    page.wait_for_url("**/admin/shop/customer/import/")
    upload = tmp_path / "customers.csv"
    upload.write_bytes(
        b"email,name,country,created_at\n"
        b"ann@example.com,Ann,DE,2024-01-31T13:45:00.000000+00:00\n"
        b"bob@example.com,Bob,FR,2024-02-01T08:00:00.000000+00:00\n"
    )
    page.set_input_files('input[name="file"]', str(upload))
    page.click(".exports-import-upload input[type=submit]")
    assert page.locator(".rows-created").text_content() == "2"
    assert page.locator(".rows-rejected").text_content() == "0"
    assert not Customer.objects.exists()
    page.click(".exports-import-confirm input[type=submit]")
    assert "2 created" in page.locator(".exports-import-done").text_content()
    emails = Customer.objects.order_by("email").values_list("email", flat=True)
    assert list(emails) == ["ann@example.com", "bob@example.com"]
