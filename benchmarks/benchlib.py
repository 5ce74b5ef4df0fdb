"""What the export benchmarks share: one timed child process, its peak RSS, the facts shown.

export_bench.py (the demo shop) and kinds_bench.py (every field kind, a real dataset, SQLite)
both run each contender as its own process through :func:`run_process`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent

# A child's ru_maxrss starts at the RSS of the process that forked it (Linux keeps the
# high-water mark across exec), so a child forked from this Python process would be charged
# ~25 MB it never used. GNU time is a small C process: it forks the contender and reports %M.
# Without it, os.wait4's ru_maxrss is used (an overestimate for small processes such as psql).
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


@dataclass
class Run:
    """One process: what it cost and whether its output is right."""

    contender: str
    rows: int
    status: str = "ok"  # ok, failed, timeout, wrong-output
    seconds: float = 0.0
    peak_rss_kb: int = 0
    rows_read: int | None = None
    values_checked: int | None = None  # records compared value by value with the database's
    sha256: str | None = None
    bytes: int = 0
    detail: str = ""
    load_before: float = 0.0


def run_process(
    run: Run, command: list[str], *, env: dict, cwd: Path, log_path: Path, timeout: float
) -> bool:
    """Run ``command``, filling ``run``'s time, RSS and failure; True when it exited with 0."""
    rss_path = log_path.with_suffix(".rss")
    run.load_before = os.getloadavg()[0]
    if GNU_TIME:
        command = [GNU_TIME, "-f", "%M", "-o", str(rss_path), *command]
    with log_path.open("wb") as log_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        run.seconds = round(time.perf_counter() - started, 3)
        proc.returncode = os.waitstatus_to_exitcode(status)
    run.peak_rss_kb = peak_rss_kb(rss_path) if GNU_TIME else usage.ru_maxrss
    if timed_out.is_set():
        run.status, run.detail = "timeout", f"killed after {timeout:g} s"
    elif proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        run.status, run.detail = "failed", f"exit {proc.returncode}: {' | '.join(tail)}"
    return run.status == "ok"


def peak_rss_kb(path: Path) -> int:
    """GNU time's %M (kilobytes): its last line, after any "Command exited with..." note."""
    try:
        return int(path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def digest_file(run: Run, output: Path) -> None:
    digest = hashlib.sha256()
    with output.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    run.sha256 = digest.hexdigest()
    run.bytes = output.stat().st_size


def check_identical(runs: list[Run], names: list[str]) -> None:
    """exportdata's engines must write the same bytes for the same request."""
    runs = [r for r in runs if r.contender in names and r.status == "ok"]
    digests = {r.sha256 for r in runs}
    if len(digests) > 1:
        for run in runs:
            run.status = "wrong-output"
            run.detail = "exportdata engines differ: " + ", ".join(
                f"{r.contender}={r.sha256[:12]}" for r in runs
            )


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for item in text.split(","):
        item = item.strip().replace("_", "")
        match = re.fullmatch(r"(\d+)([kKmM]?)", item)
        if not match:
            raise argparse.ArgumentTypeError(f'"{item}" is not a row count like 100000 or 1M')
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match[2].lower()]
        sizes.append(int(match[1]) * scale)
    return sorted(set(sizes))


def postgres_url(given: str | None) -> str:
    url = given or os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("--database-url (or DATABASE_URL) must be a postgres:// URL.")
    if urlsplit(url).path.strip("/") == "test":
        sys.exit('Refusing the database "test": it belongs to the test suite. Use your own.')
    return url


def psql(url: str, query: str) -> str:
    completed = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", query],
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        sys.exit(f"psql failed: {completed.stderr.strip()}\n{query[:300]}")
    return completed.stdout.strip()


def machine_facts(url: str | None, dists: tuple[str, ...]) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1])
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    versions = {}
    for dist in dists:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu[1].strip() if cpu else platform.processor(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": psql(url, "SHOW server_version") if url else "not used",
        "psql": subprocess.run(["psql", "--version"], capture_output=True, text=True)
        .stdout.strip()
        .removeprefix("psql (PostgreSQL) "),
        "versions": versions,
        "commit": commit,
        "core_dirty": core_dirty(),
        "rss_method": "GNU time %M" if GNU_TIME else "os.wait4 ru_maxrss",
    }


def core_dirty() -> bool:
    """Whether exports/ or exportsite/ differ from HEAD in the working tree.

    Compared through a private index read from HEAD: the checkout's own index may be stale
    (several people commit from one working tree through their own index files).
    """
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(directory) / "index")}
        subprocess.run(["git", "read-tree", "HEAD"], cwd=REPO, env=env, check=True)
        diff = subprocess.run(
            ["git", "diff", "--quiet", "--", "exports", "exportsite"], cwd=REPO, env=env
        )
    return diff.returncode != 0


def shown_command(script: str, argv: list[str]) -> str:
    """The command as run, with any password in the database URL masked."""
    shown = []
    for arg in argv:
        if "://" in arg:
            parts = urlsplit(arg.split("=", 1)[-1])
            if parts.password:
                netloc = f"{parts.username}:***@{parts.hostname}" + (
                    f":{parts.port}" if parts.port else ""
                )
                masked = urlunsplit(parts._replace(netloc=netloc))
                arg = arg.replace(arg.split("=", 1)[-1], masked)
        shown.append(shlex.quote(arg))
    return " ".join([f"uv run --group bench python benchmarks/{script}", *shown])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
