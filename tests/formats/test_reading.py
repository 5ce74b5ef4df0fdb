"""The reader registry: a reader beside each writer, looked up by name or file name."""

from __future__ import annotations

import pytest

from exports import formats
from exports.errors import ExportError
from exports.formats.csv_reader import CSVReader, TSVReader
from exports.formats.jsonl_reader import JSONLinesReader
from exports.formats.reading import _READERS, Reader, Record, Table
from exports.imports import ImportFileError
from exports.imports import errors as E


def test_builtin_readers_by_name():
    assert formats.reader_names()[:3] == ("csv", "tsv", "jsonl")
    assert formats.get_reader("CSV") is CSVReader
    assert formats.get_reader("tsv") is TSVReader
    assert formats.get_reader("jsonl") is JSONLinesReader
    with pytest.raises(ExportError) as exc:
        formats.get_reader("parquet")
    choices = ", ".join(formats.reader_names())
    assert str(exc.value) == formats.UNKNOWN_FORMAT.format(name="parquet", choices=choices)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("orders.csv", "csv"),
        ("ORDERS.TSV.GZ", "tsv"),
        ("dir.csv/orders.jsonl", "jsonl"),
        ("orders.txt", None),
    ],
)
def test_reader_for_path(path, expected):
    assert formats.reader_for_path(path) == expected


def test_a_registered_reader_is_one_class(monkeypatch):
    monkeypatch.setattr("exports.formats.reading._READERS", dict(_READERS))

    class PipeReader(Reader):
        """Lines of ``|``-separated text: the whole of a new input format."""

        name = "pipe"
        extension = "pipe"

        def read(self, texts):
            lines = "".join(texts).splitlines()
            records = (
                Record(n, line.split("|"), line) for n, line in enumerate(lines[1:], start=2)
            )
            return Table(columns=lines[0].split("|"), records=records)

    formats.register_reader(PipeReader)
    assert "pipe" in formats.reader_names()
    assert formats.reader_for_path("x.pipe") == "pipe"
    table = formats.get_reader("pipe")(delimiter=None, null=None, max_line=100).read(
        iter(["a|b\n1|2\n"])
    )
    assert table.columns == ["a", "b"]
    assert list(table.records) == [Record(2, ["1", "2"], "1|2")]


def test_csv_reader_checks_its_options_and_reads_the_header():
    with pytest.raises(ImportFileError) as exc:
        CSVReader(delimiter='"', null=None, max_line=100)
    assert str(exc.value) == E.BAD_DELIMITER.format(delimiter='"')
    with pytest.raises(ImportFileError) as exc:
        TSVReader(delimiter=None, null="a\tb", max_line=100)
    assert str(exc.value) == E.BAD_NULL_TOKEN
    reader = TSVReader(delimiter=None, null="NA", max_line=100)
    table = reader.read(iter(["a\tb\n1\tNA\n"]))
    assert table.columns == ["a", "b"]
    assert list(table.records) == [Record(2, ["1", None], "1\tNA")]
    with pytest.raises(ImportFileError) as exc:
        reader.read(iter([]))
    assert str(exc.value) == E.EMPTY_FILE


def test_jsonl_reader_takes_the_first_objects_keys_as_the_header():
    with pytest.raises(ImportFileError) as exc:
        JSONLinesReader(delimiter=",", null=None, max_line=100)
    assert str(exc.value) == E.DELIMITER_JSONL
    with pytest.raises(ImportFileError) as exc:
        JSONLinesReader(delimiter=None, null="NA", max_line=100)
    assert str(exc.value) == E.NULL_JSONL
    reader = JSONLinesReader(delimiter=None, null=None, max_line=100)
    assert reader.read(iter([])) is None and reader.empty_ok and reader.values == "json"
    lines = '{"a": 1, "b": null}\n\n{"b": [2], "a": 3}\n{"a": 4}\n{"a": 5, "b": 6, "c": 7}\n'
    table = reader.read(iter([lines]))
    assert table.columns == ["a", "b"]
    assert [(r.line, r.values, r.error) for r in table.records] == [
        (1, [1, None], None),
        (3, [3, [2]], None),
        (4, None, E.JSON_KEYS.format(problems="missing b")),
        (5, None, E.JSON_KEYS.format(problems="unexpected c")),
    ]
    with pytest.raises(ImportFileError) as exc:
        reader.read(iter(["[1]\n"]))
    assert str(exc.value) == f"line 1: {E.NOT_AN_OBJECT}"
