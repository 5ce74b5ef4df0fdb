"""The options exportdata and importdata share come from one place and read the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from exports.management import options

COMMANDS = {"exportdata": ["shop.Order"], "importdata": ["shop.Order", "orders.csv"]}


def fails(command: str, *args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command(command, *COMMANDS[command], *args)
    return str(excinfo.value)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chunk-size", "0"], "Error: argument --chunk-size: 0 is not a positive number."),
        (["--chunk-size", "x"], 'Error: argument --chunk-size: "x" is not a whole number.'),
        (
            ["--database", "nope"],
            "Error: argument --database: invalid choice: 'nope' (choose from ",
        ),
    ],
    ids=["zero", "not-a-number", "database"],
)
def test_shared_options_refuse_the_same_mistakes(command, args, message):
    assert fails(command, *args).startswith(message)


@pytest.mark.parametrize(("text", "expected"), [("\\t", "\t"), ("tab", "\t"), (";", ";")])
def test_delimiter_as_typed_in_a_shell(text, expected):
    assert options.unescape_delimiter(text) == expected


def test_importdata_uses_no_private_helper_of_exportdata():
    from exports.management.commands import importdata

    assert "commands.exportdata" not in Path(importdata.__file__).read_text(encoding="utf-8")
