"""Real servers on loopback (gunicorn for WSGI, uvicorn for ASGI) serving the demo project.

They cannot see pytest-django's test database (it lives in a transaction, or in memory), so
the module gets its own: a SQLite file, or on PostgreSQL ``<DATABASE_URL's name>_live``,
migrated and seeded with 100,000 orders by ``manage.py`` in subprocesses and dropped after.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 100_000
USERNAME = "exporter"
PASSWORD = "live-server-password-123"
CREATE_STAFF = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="shop", codename__in=["view_order", "export_order"]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveDatabase:
    url: str
    vendor: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "exportsite.settings",
            "DEBUG": "False",
            "SECRET_KEY": "live-server-tests-only-secret-key-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def manage(self, *args: str, input: str | None = None, env=None) -> bytes:  # noqa: A002
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            input=input.encode() if input else None,
            capture_output=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-v", "0", "-c", code).decode()


def _postgres_admin(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture(scope="module")
def live_db(tmp_path_factory) -> Iterator[LiveDatabase]:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(base)
        name = parts.path.lstrip("/") + "_live"
        url = urlunsplit(parts._replace(path="/" + name))
        with _postgres_admin(base) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        db = LiveDatabase(url=url, vendor="postgresql")
    else:
        path = tmp_path_factory.mktemp("live") / "live.sqlite3"
        db = LiveDatabase(url=f"sqlite:///{path}", vendor="sqlite")
    db.manage("migrate", "-v", "0")
    db.manage("seed_demo", "--orders", str(ORDERS), "--no-progress", "-v", "0")
    db.shell(CREATE_STAFF)
    yield db
    if db.vendor == "postgresql":
        with _postgres_admin(base) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


COMMANDS = {
    "gunicorn": lambda port: [
        sys.executable,
        "-m",
        "gunicorn",
        "tests.web.serve:wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ],
    "uvicorn": lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.web.serve:asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ],
}


@dataclass
class LiveServer:
    kind: str
    url: str
    process: subprocess.Popen
    log: Path

    @contextlib.contextmanager
    def login(self) -> Iterator[httpx.Client]:
        """An httpx client logged into the admin as the staff exporter."""
        with httpx.Client(base_url=self.url, timeout=60) as client:
            yield self._log_in(client)

    def _log_in(self, client: httpx.Client) -> httpx.Client:
        page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/admin/login/",
            data={
                "csrfmiddlewaretoken": token,
                "username": USERNAME,
                "password": PASSWORD,
                "next": "/admin/",
            },
            headers={"Referer": self.url + "/admin/login/"},
        )
        assert response.status_code == 302, response.text
        return client


def start_server(kind: str, db: LiveDatabase, tmp_path: Path, **env: str) -> LiveServer:
    port = free_port()
    log = tmp_path / f"{kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            COMMANDS[kind](port),
            cwd=ROOT,
            env={**db.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(url + "/admin/login/", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.terminate()
                raise AssertionError(f"{kind} did not start:\n{log.read_text()}") from None
            time.sleep(0.1)
    return LiveServer(kind=kind, url=url, process=process, log=log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(params=["gunicorn", "uvicorn"])
def serve(request, live_db, tmp_path):
    """``serve(**env)`` starts the server kind of this parametrisation; stopped after."""
    servers: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        server = start_server(request.param, live_db, tmp_path, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop_server(server)
