"""Download benchmark: the HTTP view behind real servers, on PostgreSQL.

For 100,000 and 1,000,000 orders, over gunicorn (WSGI, one gthread worker with 8 threads)
and uvicorn (ASGI, one process), with 1 and 8 concurrent downloads by logged-in staff,
it measures the time to first byte, the throughput and the server process's peak RSS
(sampled every 20 ms from /proc, children included), and writes the table into
docs/benchmarks.md between ``<!-- download:start -->`` and ``<!-- download:end -->``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench uv run python benchmarks/download_bench.py

It creates (and drops afterwards) its own database, ``<name>_download_bench``.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- download:start -->", "<!-- download:end -->"
USERNAME, PASSWORD = "bench-exporter", "bench-exporter-password-123"
URL = "/exports/shop/order.csv"
CREATE_STAFF = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)
user.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="shop", codename__in=["view_order", "export_order"]))
"""
SERVERS = {
    "gunicorn": lambda port: [
        sys.executable,
        "-m",
        "gunicorn",
        "exportsite.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "600",
        "--log-level",
        "warning",
    ],
    "uvicorn": lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "exportsite.asgi:application",
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
class Result:
    server: str
    rows: int
    concurrency: int
    ttfb: list[float]
    seconds: float
    total_bytes: int
    idle_rss: int
    peak_rss: int


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "False",
        "SECRET_KEY": "download-benchmark-only-secret-key-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "exportsite.settings",
    }


def manage(url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env_for(url), check=True, timeout=1800
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss(pid: int) -> int:
    """Resident set size in bytes of ``pid`` and its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, AttributeError):
            continue
    return total


class RSSSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, tree_rss(self.pid))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join(timeout=5)
        return self.peak


def start_server(kind: str, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(SERVERS[kind](port), cwd=ROOT, env=env_for(url))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/admin/login/", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{kind} did not start")


def logged_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=600)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/admin/login/",
        data={"csrfmiddlewaretoken": token, "username": USERNAME, "password": PASSWORD},
        headers={"Referer": base + "/admin/login/"},
    )
    assert response.status_code == 302, response.text[:500]
    return client


def download(client: httpx.Client, out: list) -> None:
    started = time.perf_counter()
    first = None
    size = 0
    with client.stream("GET", URL) as response:
        assert response.status_code == 200, response.status_code
        for chunk in response.iter_raw():
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    out.append((first, size))


def measure(kind: str, url: str, rows: int, concurrency: int) -> Result:
    process, base = start_server(kind, url)
    try:
        clients = [logged_in(base) for _ in range(concurrency)]
        download(clients[0], [])  # warm up: imports, first connection
        idle = tree_rss(process.pid)
        sampler = RSSSampler(process.pid)
        sampler.start()
        outcomes: list = []
        threads = [threading.Thread(target=download, args=(c, outcomes)) for c in clients]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=1800)
        seconds = time.perf_counter() - started
        peak = sampler.stop()
        for client in clients:
            client.close()
        assert len(outcomes) == concurrency, "a download failed"
        return Result(
            server=kind,
            rows=rows,
            concurrency=concurrency,
            ttfb=[o[0] for o in outcomes],
            seconds=seconds,
            total_bytes=sum(o[1] for o in outcomes),
            idle_rss=idle,
            peak_rss=peak,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def table(results: list[Result], command: str) -> str:
    lines = [
        f"Measured by `{command}` on {os.cpu_count()} CPUs, PostgreSQL, client and server on "
        "the same machine. TTFB is the time from sending the request to the first body byte "
        "(median and worst of the concurrent downloads); throughput is all bytes received "
        "divided by the wall time of the run; RSS is the server process tree's (gunicorn: "
        "master and one gthread worker with 8 threads; uvicorn: one process), idle after a "
        "warm-up download and peak during the run.",
        "",
        "| server | rows | concurrent | TTFB median | TTFB max | MB/s | rows/s "
        "| idle RSS | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        mb = r.total_bytes / r.seconds / 1e6
        median = statistics.median(r.ttfb) * 1000
        row_rate = r.rows * r.concurrency / r.seconds
        lines.append(
            f"| {r.server} | {r.rows:,} | {r.concurrency} | {median:.0f} ms "
            f"| {max(r.ttfb) * 1000:.0f} ms | {mb:.0f} | {row_rate:,.0f} "
            f"| {r.idle_rss / 2**20:.0f} MiB | {r.peak_rss / 2**20:.0f} MiB |"
        )
    return "\n".join(lines)


def write_docs(block: str) -> None:
    """Replace only the download block of docs/benchmarks.md (other sections are not ours)."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n## Downloads over HTTP\n\n" + section + "\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--servers", nargs="+", choices=tuple(SERVERS), default=list(SERVERS))
    parser.add_argument("--no-docs", action="store_true", help="Print only.")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL=postgres://... (the benchmark runs on PostgreSQL).")
    parts = urlsplit(base)
    name = parts.path.lstrip("/") + "_download_bench"
    url = urlunsplit(parts._replace(path="/" + name))
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        manage(url, "migrate", "-v", "0")
        manage(url, "shell", "-v", "0", "-c", CREATE_STAFF)
        results = []
        for rows in args.rows:
            manage(url, "seed_demo", "--orders", str(rows), "--no-progress", "-v", "0")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE shop_order")
            for kind in args.servers:
                for concurrency in args.concurrency:
                    result = measure(kind, url, rows, concurrency)
                    print(table([result], "").splitlines()[-1], flush=True)
                    results.append(result)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    command = "uv run python benchmarks/download_bench.py " + " ".join(sys.argv[1:])
    block = table(results, command.strip())
    print(block)
    if not args.no_docs:
        write_docs(block)


if __name__ == "__main__":
    main()
