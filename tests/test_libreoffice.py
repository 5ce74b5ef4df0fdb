"""Every download meant for people, read by LibreOffice as CSV with formulas evaluated.

Each reading (``,``, ``;``, tab, and ``;`` with "Trim spaces") converts all the downloads in one
``soffice`` run and asserts that no cell is a formula. The machine file written without
neutralising is read alongside as the control: it must give formula cells, or the reading
proves nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from exports.stream import prepare_export
from exportsite.shop.models import Customer, Order
from tests.accounts import ORDER_EXPORTER, make_user
from tests.spreadsheets import formula_cells

pytestmark = [pytest.mark.libreoffice, pytest.mark.django_db]

HOSTILE_NOTES = [
    "=1+2",
    "+1 555",
    "-2 items",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    "\nLF",
    "x;=2+2",
    "x,=3+3",
    "x\t=4+4",
    "a\n=5+5",
    "a\r\n=6+6",
    " =7+7",
    "x; =8+8",
    'x;"=9+9',
    "\ufeff=10+10",
    "\u00a0=11+11",
    "\uff1d12",
    "\u221213",
    '=HYPERLINK("http://evil.example","x")',
    "x;=cmd|' /C calc'!A0",
    "=a;=b,=c\t=d",
]
HOSTILE_METADATA = [
    {"k": "x;=1+1"},
    ["a,=2+2", "b;@SUM(1)"],
    {"=key": "v;-1", "n": [1, -2]},
]
REJECTED_CUSTOMERS = (
    "email,name,country,created_at\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Ann,DE,2024-01-01T00:00:00+00:00\n'
    'ok@example.com,"x;=1+1",DEU,2024-01-01T00:00:00+00:00\n'
    '"a;=2+2@example.com","b,=3+3",FR,2024-01-01T00:00:00+00:00\n'
)
FIELDS = ",".join(
    ["id", "customer__email", "status", "total_cents", "discount", "note", "metadata"]
)
# With "Trim spaces", LibreOffice also reads a formula in a JSON string after "; " (the
# documented gap for JSON cells), so the hostile rows above hold none.
READINGS = [
    pytest.param(",", False, id="comma"),
    pytest.param(";", False, id="semicolon"),
    pytest.param("\t", False, id="tab"),
    pytest.param(";", True, id="semicolon-trimmed"),
]


def create_hostile_orders() -> None:
    created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customer = Customer.objects.create(
        id=1, email="=x;=1@example.com", name="n", country="DE", created_at=created
    )
    for pk, note in enumerate(HOSTILE_NOTES, start=1):
        Order.objects.create(
            id=pk,
            customer=customer,
            total_cents=-pk,
            note=note,
            metadata=HOSTILE_METADATA[pk % len(HOSTILE_METADATA)],
            created_at=created,
            reference=uuid.UUID(int=pk, version=4),
        )


def joined(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def downloads(client) -> dict[str, bytes]:
    """What a person gets from each door: the download view, the admin, the reject file."""
    client.force_login(make_user("staff", perms=ORDER_EXPORTER))
    files = {
        f"http-{fmt}": joined(client.get(f"/exports/shop/order.{fmt}", {"fields": FIELDS}))
        for fmt in ("csv", "tsv", "jsonl")
    }
    for fmt in ("csv", "tsv", "jsonl"):
        files[f"admin-all-{fmt}"] = joined(
            client.get("/admin/shop/order/export/", {"_export_format": fmt})
        )
    selected = [str(pk) for pk in range(1, len(HOSTILE_NOTES) + 1)]
    action = {"action": "export_selected_csv", "index": "0", "_selected_action": selected}
    files["admin-action-csv"] = joined(client.post("/admin/shop/order/", action))
    client.force_login(make_user("root", is_superuser=True))
    upload = {
        "file": SimpleUploadedFile("customers.csv", REJECTED_CUSTOMERS.encode()),
        "mode": "create",
        "encoding": "utf-8",
    }
    page = client.post(reverse("admin:shop_customer_import"), upload)
    files["admin-rejects"] = joined(client.get(page.context["rejects_url"]))
    return files


@pytest.mark.parametrize(("separator", "trim_spaces"), READINGS)
def test_no_download_for_people_gives_a_formula_cell(client, tmp_path, separator, trim_spaces):
    create_hostile_orders()
    files = downloads(client)
    files["machine-csv"] = b"".join(
        prepare_export(queryset=Order.objects.all(), fields=FIELDS.split(","), format="csv")
    )

    found = formula_cells(files, tmp_path, separator=separator, trim_spaces=trim_spaces)

    control = found.pop("machine-csv")
    assert control, "the machine file (not neutralised) should hold formula cells"
    assert found == {name: [] for name in found}
    assert b"x;'=2+2" in files["http-csv"]
    assert b"x;'=1+1" in files["admin-rejects"]
