"""Export benchmark: exportdata's engines against what users would otherwise pick.

    uv run --group bench python benchmarks/export_bench.py \\
        --sizes 100000,1000000 --database-url postgres://postgres@127.0.0.1:5432/bench

For each size it seeds the demo shop (``manage.py seed_demo``, deterministic, COPY), freezes
and warms the tables, then runs every contender as its own process, one after the other, and
measures wall time and the child's peak RSS (``os.wait4`` rusage). Every output is read back
with Python's csv module (row count, ids ascending) and exportdata's engines must agree byte
for byte. Results go to benchmarks/results/ (JSON, git-ignored), the "Export" section of
docs/benchmarks.md (between its markers, the rest of the file is left alone) and a chart.

The database is wiped by seeding: never point this at a database you care about.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import export_report as report  # noqa: E402
from benchlib import (  # noqa: E402
    Run,
    check_identical,
    digest_file,
    log,
    machine_facts,
    parse_sizes,
    postgres_url,
    psql,
    run_process,
    shown_command,
)
from contenders import FIELDS  # noqa: E402

ENGINES = ("auto", "copy", "cursor", "keyset")
# The same columns, join and order as FIELDS, in PostgreSQL's own words.
COPY_SQL = (
    "SELECT o.id, c.email AS customer__email, o.status, o.total_cents, o.created_at, o.note "
    "FROM shop_order o JOIN shop_customer c ON c.id = o.customer_id ORDER BY o.id"
)
# These hold the whole table in memory: about 2.6 GB (naive) and 1.8 GB (import-export) per
# million rows, so they are left out above this size unless asked for.
HEAVY = ("naive", "import-export")
DEFAULT_HEAVY_MAX_ROWS = 1_000_000
# Children that run Django: production-like settings, the same for every contender.
DJANGO_ENV = {"DEBUG": "False", "SECRET_KEY": "benchmark-only-not-a-secret"}


@dataclass(frozen=True)
class Contender:
    name: str
    label: str
    group: str  # "limit", "exportdata" or "competitor": how the chart colours it

    def command(self, output: Path, database_url: str) -> list[str]:
        if self.name == "psql-copy":
            meta = f"\\copy ({COPY_SQL}) TO '{output}' WITH CSV HEADER"
            return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-c", meta]
        if self.name.startswith("exportdata-") or self.name == "startup":
            engine = self.name.removeprefix("exportdata-").replace("startup", "auto")
            limit = ["--limit", "0"] if self.name == "startup" else []
            return [
                sys.executable,
                str(REPO / "manage.py"),
                "exportdata",
                "shop.Order",
                "-o",
                str(output),
                "--fields",
                ",".join(FIELDS),
                "--engine",
                engine,
                "--no-progress",
                *limit,
            ]
        return [sys.executable, str(HERE / "contenders.py"), self.name, str(output)]


CONTENDERS = (
    Contender("psql-copy", "psql \\copy (SELECT ...) TO", "limit"),
    # No rows: what every exportdata run pays before the first row (process, Django, query).
    Contender("startup", "exportdata --limit 0 (start-up only)", "baseline"),
    *(Contender(f"exportdata-{e}", f"exportdata --engine {e}", "exportdata") for e in ENGINES),
    Contender("recipe", "Django docs streaming recipe", "competitor"),
    Contender("naive", "naive list(queryset) + csv", "competitor"),
    Contender("import-export", "django-import-export", "competitor"),
)


@dataclass
class SizeResult:
    rows: int
    seed_seconds: float
    runs: list[Run] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = postgres_url(args.database_url)
    selected = [c for c in CONTENDERS if c.name not in args.skip]
    env = {**os.environ, **DJANGO_ENV, "DATABASE_URL": database_url, "PGTZ": "UTC"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    results_dir = Path(tempfile.mkdtemp(prefix="export-bench-", dir=args.work_dir))
    log(f"outputs in {results_dir}")
    bytecode = "as the environment says"
    if not args.no_bytecode_cache:
        # Deployed code has its .pyc files; PYTHONDONTWRITEBYTECODE=1 (set on some CI and dev
        # machines) would make every Python contender recompile Django (~0.5 s) on each run.
        # Cache bytecode in a private directory instead, leaving the checkout and venv alone.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(results_dir / "pycache")
        bytecode = "cached (warmed once before timing)"
    machine = machine_facts(database_url, ("django", "psycopg", "django-import-export", "tablib"))
    started = dt.datetime.now(dt.UTC)
    sizes: list[SizeResult] = []
    try:
        for index, rows in enumerate(args.sizes):
            sizes.append(
                bench_size(
                    rows,
                    selected,
                    args=args,
                    env=env,
                    url=database_url,
                    tmp=results_dir,
                    warm_up=index == 0,
                )
            )
    finally:
        if not args.keep_outputs:
            shutil.rmtree(results_dir, ignore_errors=True)

    result = {
        "command": shown_command("export_bench.py", argv if argv is not None else sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "repeat": args.repeat,
        "timeout": args.timeout,
        "bytecode": bytecode,
        "contenders": [asdict(c) for c in CONTENDERS],
        "sizes": [asdict(s) for s in sizes],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results: {args.results}")
    if not args.no_docs:
        report.write(result, docs=args.docs, chart=args.chart)
        log(f"wrote {args.docs} and {args.chart}")
    print(report.summary(result))
    bad = [r for s in sizes for r in s.runs if r.status != "ok"]
    return 1 if bad else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("100000,1000000"),
        help="Comma-separated row counts; k and M suffixes allowed, e.g. 100k,1M,10M "
        "(default: 100000,1000000).",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL database to seed and read (default: $DATABASE_URL). It is wiped.",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="Runs per contender, interleaved; the fastest is reported (default: 1).",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="Seconds per contender run (default: 1800)."
    )
    parser.add_argument(
        "--skip",
        type=lambda text: {name.strip() for name in text.split(",") if name.strip()},
        default=set(),
        help="Comma-separated contenders to leave out: "
        + ", ".join(c.name for c in CONTENDERS)
        + " (e.g. --skip import-export at 10M).",
    )
    parser.add_argument(
        "--heavy-max-rows",
        type=int,
        default=DEFAULT_HEAVY_MAX_ROWS,
        help="Run naive and import-export, which hold the whole table in memory, only up to "
        f"this size (default: {DEFAULT_HEAVY_MAX_ROWS}; raise it to run them at 10M).",
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="Use the rows already in the database."
    )
    parser.add_argument(
        "--work-dir", type=Path, help="Where the outputs are written (default: system temp)."
    )
    parser.add_argument("--keep-outputs", action="store_true", help="Keep the output files.")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="Keep PYTHONDONTWRITEBYTECODE as the environment has it (by default the Python "
        "contenders get a private, pre-warmed bytecode cache, as deployed code has).",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=HERE / "results" / f"export-{stamp}.json",
        help="Raw results as JSON (default: benchmarks/results/export-<time>.json).",
    )
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--chart", type=Path, default=REPO / "docs" / "benchmarks-export.png")
    parser.add_argument(
        "--no-docs", action="store_true", help="Do not touch docs/ (results JSON only)."
    )
    args = parser.parse_args(argv)
    unknown = args.skip - {c.name for c in CONTENDERS}
    if unknown:
        parser.error(f"unknown contender(s) for --skip: {', '.join(sorted(unknown))}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def bench_size(
    rows: int,
    selected: list[Contender],
    *,
    args: argparse.Namespace,
    env: dict,
    url: str,
    tmp: Path,
    warm_up: bool,
) -> SizeResult:
    seed_seconds = 0.0
    if args.no_seed:
        found = int(psql(url, "SELECT count(*) FROM shop_order"))
        if found != rows:
            sys.exit(f"--no-seed: the database holds {found} orders, not {rows}.")
    else:
        log(f"seeding {rows:,} orders")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "seed_demo", "--orders", str(rows)],
            env={**env, "DJANGO_SETTINGS_MODULE": "exportsite.settings"},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seed_seconds = time.perf_counter() - started
    # COPY-loaded pages carry no hint bits: the first reader would pay for setting them.
    psql(url, "VACUUM (FREEZE, ANALYZE) shop_customer, shop_order")
    psql(url, f"SELECT count(*), sum(length(customer__email) + length(note)) FROM ({COPY_SQL}) t")

    if warm_up:
        warm_up_processes(env, tmp, url)
    result = SizeResult(rows=rows, seed_seconds=round(seed_seconds, 2))
    todo = []
    for contender in selected:
        if contender.name in HEAVY and rows > args.heavy_max_rows:
            result.skipped[contender.name] = f"above --heavy-max-rows {args.heavy_max_rows:,}"
        else:
            todo.append(contender)
    for repeat in range(args.repeat):
        for contender in todo:
            run = run_contender(contender, rows, env=env, url=url, tmp=tmp, timeout=args.timeout)
            log(
                f"{rows:>11,} {contender.name:<18} #{repeat + 1} {run.status:<7} "
                f"{run.seconds:8.2f} s {run.peak_rss_kb / 1024:8.1f} MB "
                f"load {run.load_before:.2f} {run.detail}"
            )
            result.runs.append(run)
    check_identical(result.runs, [c.name for c in todo if c.group == "exportdata"])
    return result


def warm_up_processes(env: dict, tmp: Path, url: str) -> None:
    """Run each kind of Python process once, untimed: bytecode is cached, files are cached."""
    log("warming up")
    for command in (
        Contender("startup", "", "baseline").command(tmp / "warm-up.csv", url),
        [sys.executable, str(HERE / "contenders.py"), "warm-up", str(tmp / "warm-up.csv")],
    ):
        subprocess.run(command, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    (tmp / "warm-up.csv").unlink(missing_ok=True)


def run_contender(
    contender: Contender, rows: int, *, env: dict, url: str, tmp: Path, timeout: float
) -> Run:
    output = tmp / f"{contender.name}-{rows}.csv"
    output.unlink(missing_ok=True)
    run = Run(contender=contender.name, rows=rows)
    log_path = tmp / f"{contender.name}-{rows}.log"
    command = contender.command(output, url)
    if run_process(run, command, env=env, cwd=REPO, log_path=log_path, timeout=timeout):
        verify(run, output, expected=0 if contender.name == "startup" else rows)
    output.unlink(missing_ok=True)
    return run


def verify(run: Run, output: Path, *, expected: int) -> None:
    """Read the file back: one header, then ``rows`` records with ids strictly ascending."""
    digest_file(run, output)
    count, last = 0, 0
    with output.open(encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        for record in reader:
            current = int(record[0])
            if current <= last or len(record) != len(FIELDS):
                run.status = "wrong-output"
                run.detail = f"record {count + 1}: id {current} after {last}, {len(record)} cells"
                return
            last = current
            count += 1
    run.rows_read = count
    if count != expected:
        run.status, run.detail = "wrong-output", f"{count:,} rows read back, {expected:,} expected"


if __name__ == "__main__":
    sys.exit(main())
