"""The built wheel is the reusable app: ``exports`` with its templates, template tags,
migrations and a ``py.typed`` marker; never the demo project or the tests."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_app_and_nothing_else(tmp_path):
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    (metadata,) = tops - {"exports"}
    assert metadata.startswith("django_streaming_exports-") and metadata.endswith(".dist-info")
    assert {
        "exports/py.typed",
        "exports/apps.py",
        "exports/migrations/0001_initial.py",
        "exports/templatetags/exports_import.py",
        "exports/templates/admin/exports/change_list.html",
        "exports/templates/exports/import/upload.html",
        "exports/management/commands/exportdata.py",
        "exports/management/commands/importdata.py",
    } <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
