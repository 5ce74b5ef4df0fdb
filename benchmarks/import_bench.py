"""Import benchmark: ``importdata`` against what users would otherwise pick, on one file.

    uv run --group bench python benchmarks/import_bench.py --sizes 100000,1000000 \\
        --database-url postgres://postgres@127.0.0.1:5432/h4bench \\
        --sqlite-path /tmp/h4bench.sqlite3

For each backend and size it seeds the demo shop (``manage.py seed_demo``), exports the orders
with ``exportdata`` (every column, the canonical file an operator would re-import), then runs
each contender as its own process on that file, with the order table emptied before each
create-style run, and records wall time, rows/s and the child's peak RSS (GNU ``time -f %M``):

- ``importdata create`` and ``importdata upsert`` (the upsert runs on the full table, so every
  row is an update), validating every value;
- ``bulk_create loop``: csv.DictReader -> ``Order(**row)`` -> ``bulk_create`` every 5,000 rows,
  no validation (the floor for anything built on the ORM);
- ``psql \\copy FROM`` (PostgreSQL only): the physical limit, no Python at all;
- ``django-import-export``: ``ModelResource.import_data`` on a tablib Dataset of the file, as its
  documentation shows; above ``--import-export-max-rows`` it is run at that size and its time
  extrapolated linearly (shown with ``*``). Twice: in its fastest documented configuration
  (``use_bulk``, ``batch_size = 5000``, ``skip_diff``) and with its defaults (row by row, on at
  most ``--import-export-defaults-max-rows`` rows).

The results replace the block between ``<!-- import:start -->`` and ``<!-- import:end -->`` in
docs/benchmarks.md (the rest of the file is left alone). Seeding wipes the databases named.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOC = REPO / "docs" / "benchmarks.md"
START, END = "<!-- import:start -->", "<!-- import:end -->"
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
ENV = {"DEBUG": "False", "SECRET_KEY": "benchmark-only-not-a-secret"}
COLUMNS = (
    "id,customer_id,status,total_cents,currency,discount,is_gift,created_at,shipped_on,note,"
    "reference,metadata"
)


@dataclass
class Run:
    backend: str
    rows: int
    contender: str
    seconds: float
    peak_rss_mb: float
    imported: int
    extrapolated_from: int = 0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# Children.


def child_bulk_create(path: str) -> None:
    """The bare loop: no parsing beyond what the ORM does, no validation, batches of 5,000."""
    import csv
    import json as _json

    import django

    django.setup()
    from exportsite.shop.models import Order

    batch = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            row = {k: (v if v != "" else None) for k, v in row.items()}
            row["note"] = row["note"] or ""
            row["metadata"] = _json.loads(row["metadata"])
            row["is_gift"] = row["is_gift"] == "true"
            batch.append(Order(**row))
            if len(batch) == 5000:
                Order.objects.bulk_create(batch)
                batch = []
    if batch:
        Order.objects.bulk_create(batch)


def child_import_export(path: str, *, bulk: bool = True) -> None:
    """django-import-export as its documentation shows: a ModelResource, import_data.

    ``bulk``: its fastest documented configuration (``use_bulk``, ``batch_size = 5000``,
    ``skip_diff``); without it, the defaults (one instance looked up and saved per row).
    """
    import django

    django.setup()
    import tablib
    from import_export import fields, resources, widgets

    from exportsite.shop.models import Order

    class OrderResource(resources.ModelResource):
        # The file's spellings: the FK as customer_id, datetimes in ISO 8601 with offset.
        customer_id = fields.Field(attribute="customer_id", column_name="customer_id")
        created_at = fields.Field(
            attribute="created_at",
            column_name="created_at",
            widget=widgets.DateTimeWidget(format="%Y-%m-%dT%H:%M:%S.%f%z"),
        )

        class Meta:
            model = Order
            exclude = ("customer",)
            use_bulk = bulk
            batch_size = 5000 if bulk else None
            skip_diff = bulk

    # newline="" as the csv module requires: otherwise a CR inside a quoted note becomes LF.
    with open(path, encoding="utf-8", newline="") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    result = OrderResource().import_data(dataset, dry_run=False, raise_errors=True)
    assert not result.has_errors()


# The driver.


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        kind, path = args.child
        sys.path.insert(0, str(REPO))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exportsite.settings")
        {
            "bulk-create": child_bulk_create,
            "import-export": child_import_export,
            "import-export-defaults": lambda p: child_import_export(p, bulk=False),
        }[kind](path)
        return 0
    backends = []
    if args.database_url:
        ensure_database(args.database_url)
        backends.append(("postgresql", args.database_url))
    if args.sqlite_path:
        backends.append(("sqlite", f"sqlite:///{args.sqlite_path}"))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        for backend, url in backends:
            for rows in args.sizes:
                runs += bench(backend, url, rows, Path(tmp), args)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"import-{stamp}.json").write_text(
        json.dumps([asdict(r) | {"rate": r.rate} for r in runs], indent=2)
    )
    write_doc(runs, args, " ".join(sys.argv))
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--database-url", help="PostgreSQL database to wipe and use.")
    parser.add_argument("--sqlite-path", help="SQLite file to wipe and use.")
    parser.add_argument("--import-export-max-rows", type=int, default=100_000)
    parser.add_argument(
        "--import-export-defaults-max-rows",
        type=int,
        default=20_000,
        help="django-import-export in its default (row by row) mode runs on at most this many "
        "rows, its time scaled linearly to the full size.",
    )
    parser.add_argument(
        "--skip", default="", help="Comma-separated contenders to leave out (e.g. upsert)."
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.skip = set(filter(None, args.skip.split(",")))
    return args


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named by ``url`` when it does not exist yet."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(url: str, *args: str, quiet: bool = True) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, **ENV, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def empty_orders(backend: str, url: str) -> None:
    sql = (
        "TRUNCATE shop_order RESTART IDENTITY"
        if backend == "postgresql"
        else "DELETE FROM shop_order"
    )
    code = f"from django.db import connection\nwith connection.cursor() as c: c.execute({sql!r})\n"
    if backend == "postgresql":
        code += "with connection.cursor() as c: c.execute('VACUUM ANALYZE shop_order')\n"
    manage(url, "shell", "-c", code)


def count_orders(url: str) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from exportsite.shop.models import Order; print(Order.objects.count())",
        ],
        cwd=REPO,
        env={**os.environ, **ENV, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def timed(command: list[str], url: str, tmp: Path) -> tuple[float, float]:
    rss = tmp / "rss"
    if GNU_TIME:
        command = [GNU_TIME, "-f", "%M", "-o", str(rss), *command]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **ENV, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    err = proc.stderr.read()
    proc.stderr.close()
    proc.returncode = 0
    kb = int(rss.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    if "Traceback" in err or "Error" in err:
        raise SystemExit(f"{command} failed:\n{err[-3000:]}")
    return seconds, kb / 1024


def bench(backend: str, url: str, rows: int, tmp: Path, args) -> list[Run]:
    log(f"{backend} {rows:,}: seeding")
    if backend == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    manage(url, "migrate", "-v0")
    manage(url, "seed_demo", "--orders", str(rows), "--no-progress")
    data = tmp / f"orders-{backend}-{rows}.csv"
    manage(url, "exportdata", "shop.Order", "-o", str(data), "--no-progress")
    py = [sys.executable]
    contenders = [
        (
            "importdata create",
            True,
            [
                *py,
                "manage.py",
                "importdata",
                "shop.Order",
                str(data),
                "--no-progress",
                "--errors",
                str(tmp / "rejects.csv"),
            ],
        ),
        (
            "importdata upsert",
            False,
            [
                *py,
                "manage.py",
                "importdata",
                "shop.Order",
                str(data),
                "--mode",
                "upsert",
                "--key",
                "reference",
                "--no-progress",
                "--errors",
                str(tmp / "rejects.csv"),
            ],
        ),
        (
            "bulk_create loop",
            True,
            [*py, str(HERE / "import_bench.py"), "--child", "bulk-create", str(data)],
        ),
    ]
    if backend == "postgresql":
        meta = f"\\copy shop_order ({COLUMNS}) FROM '{data}' WITH (FORMAT csv, HEADER true)"
        contenders.append(
            (
                "psql \\copy FROM",
                True,
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", meta],
            )
        )
    contenders.append(("django-import-export", True, None))
    contenders.append(("django-import-export (defaults)", True, None))
    runs = []
    for name, empty_first, command in contenders:
        if name.split()[-1] in args.skip or name in args.skip:
            continue
        if name == "django-import-export":
            runs.append(bench_import_export(backend, url, rows, data, tmp, args))
            continue
        if name == "django-import-export (defaults)":
            runs.append(
                bench_import_export(
                    backend,
                    url,
                    rows,
                    data,
                    tmp,
                    args,
                    kind="import-export-defaults",
                    name=name,
                    max_rows=args.import_export_defaults_max_rows,
                )
            )
            continue
        if empty_first:
            empty_orders(backend, url)
        seconds, rss = timed(command, url, tmp)
        imported = count_orders(url)
        run = Run(backend, rows, name, seconds, rss, imported)
        log(f"  {name:22} {seconds:8.2f} s {run.rate:>10,.0f} rows/s {rss:8.1f} MB")
        if imported != rows:
            raise SystemExit(f"{name} left {imported} rows, expected {rows}")
        runs.append(run)
    return runs


def bench_import_export(
    backend,
    url,
    rows,
    data,
    tmp,
    args,
    *,
    kind: str = "import-export",
    name: str = "django-import-export",
    max_rows: int | None = None,
) -> Run:
    size = min(rows, args.import_export_max_rows if max_rows is None else max_rows)
    source = data
    if size < rows:
        source = tmp / f"head-{size}.csv"
        with (
            open(data, encoding="utf-8", newline="") as full,
            open(source, "w", encoding="utf-8", newline="") as part,
        ):
            import csv

            reader = csv.reader(full)
            # "\r\n" so the writer quotes a lone CR too (with "\n" it leaves it bare, which
            # splits the record for every reader).
            writer = csv.writer(part, lineterminator="\r\n")
            for i, row in enumerate(reader):
                if i > size:
                    break
                writer.writerow(row)
    empty_orders(backend, url)
    command = [
        sys.executable,
        str(HERE / "import_bench.py"),
        "--child",
        kind,
        str(source),
    ]
    env_settings = {"DJANGO_SETTINGS_MODULE": "bench_settings", "PYTHONPATH": f"{HERE}:{REPO}"}
    old = {k: os.environ.get(k) for k in env_settings}
    os.environ.update(env_settings)
    try:
        seconds, rss = timed(command, url, tmp)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    imported = count_orders(url)
    if imported != size:
        raise SystemExit(f"{name} left {imported} rows, expected {size}")
    run = Run(
        backend,
        rows,
        name,
        seconds * rows / size,
        rss,
        imported,
        extrapolated_from=size if size < rows else 0,
    )
    log(
        f"  {name:22} {run.seconds:8.2f} s {run.rate:>10,.0f} rows/s "
        f"{rss:8.1f} MB" + (f" (extrapolated from {size:,})" if size < rows else "")
    )
    return run


def write_doc(runs: list[Run], args, command: str) -> None:
    lines = [
        START,
        "## Import",
        "",
        f"`{shown(command)}`",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}. Each contender is its own process; peak RSS by "
        f"{'GNU time %M' if GNU_TIME else 'os.wait4'}. The file is `exportdata shop.Order` "
        "(12 columns, every field kind of the demo). `importdata` validates every value.",
        "",
        "| backend | rows | contender | seconds | rows/s | peak RSS (MB) | vs bulk_create |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        base = next(
            (
                r
                for r in runs
                if r.backend == run.backend
                and r.rows == run.rows
                and r.contender == "bulk_create loop"
            ),
            None,
        )
        ratio = f"{run.seconds / base.seconds:.2f}×" if base else ""
        star = f" *(from {run.extrapolated_from:,})*" if run.extrapolated_from else ""
        lines.append(
            f"| {run.backend} | {run.rows:,} | {run.contender}{star} | {run.seconds:,.1f} | "
            f"{run.rate:,.0f} | {run.peak_rss_mb:,.0f} | {ratio} |"
        )
    lines += [
        "",
        "`*` django-import-export was run on the first rows only and its time scaled linearly "
        "to the full size (it holds the whole file in a tablib Dataset).",
        END,
    ]
    block = "\n".join(lines)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def shown(command: str) -> str:
    return command.replace(str(REPO) + "/", "")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
