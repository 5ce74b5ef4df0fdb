"""``manage.py exportdata``: stream a model's rows to CSV, TSV or JSON Lines."""

from __future__ import annotations

import io
import os
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from exports import conf, formats
from exports.columns import get_model, parse_field_list
from exports.engines import ENGINES, copy_unsupported_reason
from exports.errors import ExportError
from exports.filters import build_q, split_filter
from exports.management.options import (
    add_chunk_size,
    add_database,
    add_delimiter,
    add_label,
    add_no_progress,
    non_negative_int,
    unescape_delimiter,
)
from exports.sinks import write_atomic
from exports.stream import prepare_export

FAILED = "Export failed after {rows} rows: {error}"
FAILED_NO_FILE = "Export failed after {rows} rows: {error} ({path} was not written)"
INTERRUPTED = "Export interrupted after {rows} rows ({path} was not written)."
INTERRUPTED_STDOUT = "Export interrupted after {rows} rows."
BROKEN_PIPE = "Export stopped after {rows} rows: the output was closed (broken pipe)."
BAD_OUTPUT_DIR = 'Cannot write "{path}": the directory "{directory}" does not exist.'
OUTPUT_IS_DIR = 'Cannot write "{path}": it is a directory; give a file name.'
# -v 2: why engine auto did not choose copy (the reason names the column that forced it).
AUTO_NOT_COPY = "Engine auto chose {engine}, not copy: {reason}"


class Command(BaseCommand):
    help = (
        "Export the rows of a model (app_label.ModelName) as CSV, TSV or JSON Lines, streamed "
        "in chunks with flat memory, to stdout or to a file written atomically."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_label(parser)
        parser.add_argument(
            "-o",
            "--output",
            default="-",
            help="Output file (default: stdout, also '-'). The format follows the suffix "
            "(.csv, .tsv, .jsonl, each optionally .gz, compressed on the fly).",
        )
        parser.add_argument(
            "--format",
            choices=formats.names(),
            help="Output format (default: from the output's suffix, else csv).",
        )
        parser.add_argument(
            "--fields",
            help="Comma-separated field paths, e.g. id,status,customer__email "
            "(default: every concrete field, foreign keys as their _id column).",
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="LOOKUP=VALUE",
            help="Keep rows matching a Django lookup, e.g. status=paid or "
            "created_at__gte=2024-01-01 (repeatable; values are typed by their field).",
        )
        parser.add_argument(
            "--order-by",
            help="Comma-separated fields to order by (prefix - for descending); "
            "the primary key is added as a tie-breaker. Default: the primary key.",
        )
        parser.add_argument("--limit", type=non_negative_int, help="Export at most N rows.")
        add_chunk_size(parser, what="Rows per database round trip and per write")
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            help="How rows leave the database (default: settings.EXPORTS['ENGINE'], auto).",
        )
        add_database(parser, verb="read from")
        parser.add_argument(
            "--no-header", action="store_true", help="Do not write the header line."
        )
        add_delimiter(parser)
        parser.add_argument(
            "--bom", action="store_true", help="Start with a UTF-8 byte order mark (for Excel)."
        )
        parser.add_argument(
            "--escape-formulas",
            action="store_true",
            help="Prefix ' to text cells starting with = + - @ tab or CR (for spreadsheets).",
        )
        add_no_progress(parser)

    def handle(
        self,
        label: str,
        *,
        output: str,
        format: str | None,  # noqa: A002
        fields: str | None,
        filter: list[str],  # noqa: A002
        order_by: str | None,
        limit: int | None,
        chunk_size: int | None,
        engine: str | None,
        database: str,
        no_header: bool,
        delimiter: str | None,
        bom: bool,
        escape_formulas: bool,
        no_progress: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        to_stdout = output == "-"
        try:
            export = prepare_export(
                queryset=self._queryset(label, database, filter),
                fields=parse_field_list(fields) if fields else None,
                format=format or (None if to_stdout else formats.format_for_path(output)) or "csv",
                engine=engine,
                chunk_size=chunk_size,
                header=not no_header,
                delimiter=unescape_delimiter(delimiter),
                bom=bom,
                escape_formulas=escape_formulas,
                limit=limit,
                order_by=parse_field_list(order_by) if order_by else None,
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        if not to_stdout:
            self._check_output_dir(output)
        if verbosity > 1:
            self._explain_engine(export, engine or conf.get("ENGINE"))
        show_progress = not no_progress and verbosity > 0 and sys.stderr.isatty()
        started = time.monotonic()
        chunks = self._with_progress(export) if show_progress else iter(export)
        try:
            if to_stdout:
                self._write_stdout(chunks)
            else:
                write_atomic(output, chunks)
        except BrokenPipeError:
            raise CommandError(BROKEN_PIPE.format(rows=export.rows)) from None
        except KeyboardInterrupt:
            if to_stdout:
                raise CommandError(INTERRUPTED_STDOUT.format(rows=export.rows)) from None
            raise CommandError(INTERRUPTED.format(rows=export.rows, path=output)) from None
        except (DatabaseError, OSError, UnicodeError, ExportError) as exc:
            if to_stdout:
                raise CommandError(FAILED.format(rows=export.rows, error=exc)) from exc
            raise CommandError(
                FAILED_NO_FILE.format(rows=export.rows, error=exc, path=output)
            ) from exc
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if verbosity > 0:
            self._summary(export, output, time.monotonic() - started, to_stdout)

    def _explain_engine(self, export, requested: str) -> None:
        if requested != "auto" or export.engine == "copy":
            return
        vendor = connections[export.queryset.db].vendor
        reason = copy_unsupported_reason(export.columns, export.writer, vendor)
        if reason:
            self.stderr.write(AUTO_NOT_COPY.format(engine=export.engine, reason=reason))

    def _queryset(self, label: str, database: str, filters: list[str]):
        model = get_model(label)
        pairs = [split_filter(item) for item in filters]
        return model._default_manager.using(database).filter(build_q(model, pairs, using=database))

    def _check_output_dir(self, output: str) -> None:
        if os.path.isdir(output):
            raise CommandError(OUTPUT_IS_DIR.format(path=output))
        directory = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(directory):
            raise CommandError(BAD_OUTPUT_DIR.format(path=output, directory=directory))

    def _write_stdout(self, chunks) -> None:
        out: Any = self.stdout._out
        binary = getattr(out, "buffer", None)
        if binary is None and isinstance(out, io.BufferedIOBase | io.RawIOBase):
            binary = out
        if binary is None:
            # A text stream (tests pass StringIO): decode, the bytes are UTF-8.
            for chunk in chunks:
                out.write(chunk.decode("utf-8"))
            return
        for chunk in chunks:
            binary.write(chunk)
        binary.flush()

    def _with_progress(self, export):
        from tqdm import tqdm

        total = export.count()
        with tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr) as bar:
            done = 0
            for chunk in export:
                yield chunk
                bar.update(export.rows - done)
                done = export.rows

    def _summary(self, export, output: str, seconds: float, to_stdout: bool) -> None:
        rate = export.rows / seconds if seconds > 0 else float("inf")
        where = "stdout" if to_stdout else output
        line = (
            f"Exported {export.rows:,} rows of {export.model._meta.label} to {where} "
            f"in {seconds:.2f} s ({rate:,.0f} rows/s, engine {export.engine})."
        )
        stream = self.stderr if to_stdout else self.stdout
        stream.write(line)
