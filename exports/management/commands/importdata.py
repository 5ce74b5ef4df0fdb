"""``manage.py importdata``: load a CSV, TSV or JSON Lines file into a model, checked row by row."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exports import formats
from exports.columns import get_model
from exports.errors import ExportError
from exports.imports import ImportFileError, ImportResult, import_file
from exports.imports.collector import fewer_collections
from exports.imports.pipeline import ON_ERROR
from exports.imports.plan import MODES
from exports.management.options import (
    add_chunk_size,
    add_database,
    add_delimiter,
    add_label,
    add_no_progress,
    positive_int,
    unescape_delimiter,
)

BAD_MAP = 'Bad --map "{text}": write COLUMN=FIELD, for example "E-mail=email".'
STDIN_RESUME = "--resume needs a file path: a stream read from stdin cannot be checked or resumed."
FILE_ERROR = "Nothing was written: {error}"
ABORTED = (
    "Nothing was written: {rejected:,} of {read:,} rows were rejected (see {errors}); "
    "fix them, or use --on-error skip to import the valid rows."
)
ABORTED_STOPPED = "Nothing was written: {reason}{rejects}"
DRY_RUN_FAILED = "Dry run: {rejected:,} of {read:,} rows would be rejected (see {errors})."
DRY_RUN_STOPPED = "Dry run stopped: {reason}{rejects}"
REJECTS_SO_FAR = " ({rejected:,} rows rejected so far; see {errors})."
PARTIAL = (
    "Imported {written:,} rows ({created:,} created, {updated:,} updated) but not all: "
    "{rejected:,} rows rejected (see {errors}){stopped}. Re-run with --resume to continue."
)
INTERRUPTED = (
    "Interrupted. {what} Re-run with --resume (in --on-error skip mode) to continue after the "
    "last committed batch."
)
EXIT_REJECTED = 2
EXIT_FAILED = 1


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column:
            raise CommandError(BAD_MAP.format(text=item))
        mapping[column] = field
    return mapping


class Command(BaseCommand):
    help = (
        "Import a CSV, TSV or JSON Lines file (or stdin, '-') into a model (app_label.ModelName), "
        "validating every row, in batches with flat memory. By default nothing is written "
        "unless every row is valid; --on-error skip writes the valid rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_label(parser)
        parser.add_argument(
            "path", help="The file to import (.csv, .tsv, .jsonl, optionally .gz), or - for stdin."
        )
        parser.add_argument(
            "--format",
            choices=formats.reader_names(),
            help="Input format (default: from the file's suffix, else csv).",
        )
        parser.add_argument(
            "--mode",
            choices=MODES,
            default="create",
            help="create new rows (default), update existing rows by --key, or upsert.",
        )
        parser.add_argument(
            "--key",
            help="Comma-separated unique field(s) that identify a row, for update and upsert "
            "(default: the model's declared import key).",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Read the file's COLUMN into FIELD (a field path such as customer__email); "
            "COLUMN= ignores the column. Repeatable.",
        )
        add_chunk_size(parser, what="Rows per batch and transaction")
        parser.add_argument(
            "--on-error",
            choices=ON_ERROR,
            default="abort",
            help="abort (default): write nothing if any row is bad. skip: write the valid rows "
            "batch by batch and reject the others.",
        )
        parser.add_argument(
            "--errors",
            help="The reject file (line, column, message, original row) "
            "(default: the input's path + .rejects.csv, or importdata.rejects.csv for stdin).",
        )
        parser.add_argument(
            "--max-errors", type=positive_int, help="Stop after this many rejected rows."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate every row and write nothing."
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Continue a skip-mode import after its last committed batch (checkpoint "
            "beside the reject file, tied to the input's size and hash).",
        )
        parser.add_argument(
            "--encoding", default="utf-8", help="The file's encoding (default: utf-8)."
        )
        add_delimiter(parser)
        parser.add_argument(
            "--null",
            help="The text that means NULL, e.g. NA (R, pandas) or \\N (MySQL, COPY). "
            "Default: an empty unquoted field, as exportdata writes.",
        )
        add_database(parser, verb="write to")
        add_no_progress(parser)

    @fewer_collections()  # this process only imports: see exports.imports.collector
    def handle(
        self,
        label: str,
        path: str,
        *,
        format: str | None,  # noqa: A002
        mode: str,
        key: str | None,
        map: list[str],  # noqa: A002
        chunk_size: int | None,
        on_error: str,
        errors: str | None,
        max_errors: int | None,
        dry_run: bool,
        resume: bool,
        encoding: str,
        delimiter: str | None,
        null: str | None,
        database: str,
        no_progress: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        model = self._model(label)
        from_stdin = path == "-"
        if from_stdin and resume:
            raise CommandError(STDIN_RESUME)
        errors = errors or ("importdata.rejects.csv" if from_stdin else path + ".rejects.csv")
        bar = self._progress_bar(path, from_stdin, no_progress, verbosity)
        try:
            result = import_file(
                model=model,
                source=sys.stdin.buffer if from_stdin else path,
                format=format or (None if from_stdin else formats.reader_for_path(path)) or "csv",
                mode=mode,
                key=key.split(",") if key else self._default_key(model, mode),
                mapping=parse_mapping(map),
                chunk_size=chunk_size,
                on_error=on_error,
                errors_path=errors,
                max_errors=max_errors,
                dry_run=dry_run,
                resume=resume,
                encoding=encoding,
                delimiter=unescape_delimiter(delimiter),
                null=null,
                using=database,
                on_progress=bar.progress if bar else None,
            )
        except ImportFileError as exc:
            raise CommandError(FILE_ERROR.format(error=exc), returncode=EXIT_FAILED) from None
        except KeyboardInterrupt:
            what = (
                "Nothing was written."
                if on_error == "abort" or dry_run
                else "Batches committed before the interruption are in the database."
            )
            raise CommandError(INTERRUPTED.format(what=what), returncode=EXIT_FAILED) from None
        finally:
            if bar:
                bar.close()
        if verbosity > 0:
            self.stdout.write(summary_line(result))
        failure = failure_message(result)
        if failure:
            code = EXIT_FAILED if result.file_error else EXIT_REJECTED
            raise CommandError(failure, returncode=code)

    def _model(self, label: str):
        try:
            return get_model(label)
        except ExportError as exc:
            raise CommandError(str(exc)) from None

    def _default_key(self, model, mode: str) -> list[str] | None:
        if mode == "create":
            return None
        from exports import registry

        entry = registry.get(model)
        return list(entry.import_key) if entry and entry.import_key else None

    def _progress_bar(self, path: str, from_stdin: bool, no_progress: bool, verbosity: int):
        if no_progress or verbosity < 1 or not sys.stderr.isatty():
            return None
        total = None if from_stdin else _size(path)
        return _Bar(total)


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


class _Bar:
    """A tqdm bar of bytes read (compressed bytes for .gz, matching the file size)."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)
        self.done = 0

    def progress(self, bytes_read: int) -> None:
        self.bar.update(bytes_read - self.done)
        self.done = bytes_read

    def close(self) -> None:
        self.bar.close()


def summary_line(result: ImportResult) -> str:
    verb = "Validated" if result.dry_run else "Imported"
    line = (
        f"{verb} {result.source} into {result.model} ({result.mode}): "
        f"{result.rows_read:,} rows read, {result.created:,} created, "
        f"{result.updated:,} updated, {result.rejected:,} rejected "
        f"in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s)."
    )
    if result.dry_run:
        line += " Dry run: nothing was written."
    elif not result.committed:
        line += " Nothing was written."
    if result.resumed_after:
        line += f" Resumed after {result.resumed_after:,} rows done by an earlier run."
    if result.errors_path:
        line += f" Rejected rows: {result.errors_path}."
    return line


def failure_message(result: ImportResult) -> str | None:
    """The CommandError text for an import that did not import every row, else None."""
    if result.complete:
        return None
    where = result.errors_path or "the messages above"
    counts = {"rejected": result.rejected, "read": result.rows_read, "errors": where}
    rejects = REJECTS_SO_FAR.format(**counts) if result.rejected else ""
    reason = result.stopped.rstrip(".") + ("" if rejects else ".")
    if result.dry_run:
        if result.stopped:
            return DRY_RUN_STOPPED.format(reason=reason, rejects=rejects)
        return DRY_RUN_FAILED.format(**counts)
    if result.on_error == "abort":
        if result.stopped:
            return ABORTED_STOPPED.format(reason=reason, rejects=rejects)
        return ABORTED.format(**counts)
    return PARTIAL.format(
        written=result.created + result.updated,
        created=result.created,
        updated=result.updated,
        rejected=result.rejected,
        errors=where,
        stopped=f"; {result.stopped.rstrip('.')}" if result.stopped else "",
    )
