"""What ``exportdata`` and ``importdata`` share: argument types and the options both take.

argparse reports an ``ArgumentTypeError`` as a usage error naming the option (exit status 2 on
the command line, ``CommandError`` under ``call_command``); a ``CommandError`` raised from a
type function would escape ``parse_args()`` as a traceback.
"""

from __future__ import annotations

import argparse

from django.core.management.base import CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from exports import conf

NOT_WHOLE = '"{text}" is not a whole number.'
NOT_POSITIVE = "{value} is not a positive number."
NEGATIVE = "{value} is negative."


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(NOT_POSITIVE.format(value=value))
    return value


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(NEGATIVE.format(value=value))
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(NOT_WHOLE.format(text=text)) from None


def unescape_delimiter(delimiter: str | None) -> str | None:
    """Let ``--delimiter '\\t'`` mean a tab, as people type it in a shell."""
    if delimiter in ("\\t", "tab", "TAB"):
        return "\t"
    return delimiter


def add_label(parser: CommandParser) -> None:
    parser.add_argument("label", help="The model, as app_label.ModelName (e.g. shop.Order).")


def add_chunk_size(parser: CommandParser, *, what: str) -> None:
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        help=f"{what} (default: settings.EXPORTS['CHUNK_SIZE'], {conf.DEFAULTS['CHUNK_SIZE']}).",
    )


def add_database(parser: CommandParser, *, verb: str) -> None:
    parser.add_argument(
        "--database",
        default=DEFAULT_DB_ALIAS,
        choices=tuple(connections),
        help=f"The database alias to {verb} (default: %(default)s).",
    )


def add_delimiter(parser: CommandParser) -> None:
    parser.add_argument(
        "--delimiter", help="Field delimiter for csv/tsv (one character; default , or tab)."
    )


def add_no_progress(parser: CommandParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="Never show a progress bar.")
