"""The admin's reject download is for people: formula-neutralised as it streams from disk."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from exports.imports import rejects
from exports.imports.errors import RowError
from exports.imports.rejects import HEADER, RejectWriter, iter_for_people

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:shop_customer_import")
# A bad email that is a formula, and a name with a formula after another locale's separator
# in a row rejected for its country code: the reject file keeps both rows as they came.
HOSTILE = (
    "email,name,country,created_at\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Ann,DE,2024-01-01T00:00:00+00:00\n'
    'ok@example.com,"x;=1+1",DEU,2024-01-01T00:00:00+00:00\n'
)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def reject_download(client, data: str):
    upload = {
        "file": SimpleUploadedFile("hostile.csv", data.encode()),
        "mode": "create",
        "encoding": "utf-8",
    }
    page = client.post(UPLOAD, upload)
    assert page.status_code == 200
    response = client.get(page.context["rejects_url"])
    assert response.status_code == 200
    return response


def test_admin_reject_download_is_neutralised(admin_client):
    response = reject_download(admin_client, HOSTILE)

    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="hostile.rejects.csv"'
    body = b"".join(response.streaming_content).decode()
    assert body == (
        "line,column,message,row\n"
        "2,email,Enter a valid email address.,"
        '"\'""=HYPERLINK(""""http://evil.example"""",""""x"""")"",Ann,DE,2024-01-01T00:00:00+00:00"\n'
        "3,country,3 characters is more than the maximum of 2,"
        '"ok@example.com,""x;\'=1+1"",DEU,2024-01-01T00:00:00+00:00"\n'
    )


def test_reject_file_on_disk_keeps_the_exact_rows(tmp_path):
    """Machines read the file itself (``importdata --rejects``): nothing is neutralised there."""
    path = tmp_path / "rejects.csv"
    writer = RejectWriter(path)
    writer.write([RowError(2, "name", "=1+1 is wrong")], "=1+1,x;@SUM(A1)")
    writer.close()

    assert path.read_text() == 'line,column,message,row\n2,name,=1+1 is wrong,"=1+1,x;@SUM(A1)"\n'
    assert b"".join(iter_for_people(path)) == (
        b"line,column,message,row\n2,name,'=1+1 is wrong,\"'=1+1,x;'@SUM(A1)\"\n"
    )


def test_download_streams_in_bounded_chunks(tmp_path, monkeypatch):
    path = tmp_path / "rejects.csv"
    writer = RejectWriter(path)
    for line in range(2, 2002):
        writer.write([RowError(line, "name", "bad")], f"-{line},x")
    writer.close()

    chunks = list(iter_for_people(path, chunk_size=4096))

    assert len(chunks) > 5
    assert max(map(len, chunks)) < 4096 + 100
    lines = b"".join(chunks).decode().splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1:3] == ['2,name,bad,"\'-2,x"', '3,name,bad,"\'-3,x"']
    assert len(lines) == 2001
    assert rejects.DOWNLOAD_CHUNK == 64 * 1024


def test_the_setting_turns_it_off_like_every_other_download(admin_client, settings):
    settings.EXPORTS = {**settings.EXPORTS, "HTTP_ESCAPE_FORMULAS": False}

    response = reject_download(admin_client, HOSTILE)

    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[2] == (
        "3,country,3 characters is more than the maximum of 2,"
        '"ok@example.com,""x;=1+1"",DEU,2024-01-01T00:00:00+00:00"'
    )
