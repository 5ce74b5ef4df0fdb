"""The CSV and JSON Lines readers: NULL vs "", line ends, quoting, limits, chunk boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.formats.csv_reader import (
    _QuotedLineSplitter,
    iter_csv_records,
    parse_quoted_record,
)
from exports.formats.jsonl_reader import iter_jsonl_records
from exports.imports import ImportFileError
from exports.imports import errors as E


def records(text: str, *, size: int | None = None, null=None, delimiter=",", max_line=1000):
    chunks = [text] if size is None else [text[i : i + size] for i in range(0, len(text), size)]
    return [
        (r.line, r.values, r.error)
        for r in iter_csv_records(iter(chunks), delimiter=delimiter, null=null, max_line=max_line)
    ]


TEXT = 'a,b\n1,""\r\n"x\r\ny",\r3,"q""q"\n"""\n",\n"a\n""\nb","c\nd"\n'
EXPECTED = [
    (1, ["a", "b"], None),
    (2, ["1", ""], None),
    (3, ["x\r\ny", None], None),
    (5, ["3", 'q"q'], None),
    (6, ['"\n', None], None),
    (8, ['a\n"\nb', "c\nd"], None),
]


@pytest.mark.parametrize("size", [None, 1, 2, 3, 5, 7], ids=lambda s: f"chunk-{s}")
def test_csv_any_chunking(size):
    assert records(TEXT, size=size) == EXPECTED


def test_null_token_only_unquoted():
    assert records('NA,"NA",\n', null="NA") == [(1, [None, "NA", ""], None)]


def test_bad_quoting_is_a_row_error():
    assert records('a"b,1\n"x"y,2\nok,3\n') == [
        (1, None, E.BAD_QUOTING),
        (2, None, E.BAD_QUOTING),
        (3, ["ok", "3"], None),
    ]


def test_unterminated_quote():
    with pytest.raises(ImportFileError) as info:
        records('a,b\n"open,1\n2,3\n')
    assert info.value.args == (E.UNTERMINATED_QUOTE.format(line=2),)


@pytest.mark.parametrize("size", [None, 3, 50])
def test_long_records_are_skipped_to_their_end(size):
    text = "a,b\n" + "x" * 300 + ",1\n" + '"' + "y\n" * 200 + '",2\n' + "ok,3"
    assert records(text, size=size, max_line=100) == [
        (1, ["a", "b"], None),
        (2, None, E.ROW_TOO_LONG.format(limit=100)),
        (3, None, E.ROW_TOO_LONG.format(limit=100)),
        (204, ["ok", "3"], None),
    ]


def test_jsonl_lines():
    chunks = iter(['{"a": 1}\r\n\n{"a": "x\\ny"}\r[1]\n{bad\n'])
    out = [(r.line, r.values, r.error) for r in iter_jsonl_records(chunks, max_line=100)]
    assert out[:3] == [(1, {"a": 1}, None), (3, {"a": "x\ny"}, None), (4, None, E.NOT_AN_OBJECT)]
    assert out[3][0] == 5 and out[3][2].startswith("not valid JSON: ")


# Lines with quotes are split by the csv module when it is sure to agree with the parser.


@settings(max_examples=3000)
@given(
    line=st.text(alphabet='ab,;\t"N A\x00é', max_size=24),
    delimiter=st.sampled_from([",", ";", "\t"]),
    null=st.sampled_from([None, "NA", "N"]),
)
def test_csv_split_agrees_with_the_quoted_field_parser(line, delimiter, null):
    got = _QuotedLineSplitter(delimiter, null)(line)
    if got is not None:
        values, open_at = parse_quoted_record(line, delimiter, null, [], 0)
        assert (got, open_at) == (values, -1)


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ('1,"",,"a,b","q""q"', ["1", "", None, "a,b", 'q"q']),
        ('"",""', ["", ""]),
        ('x,ab"c', None),  # a quote inside an unquoted field: the parser's to refuse
        ('"ab"c,d', None),  # text after a closing quote
        ('a,"b', None),  # odd: never offered, but refused all the same
    ],
)
def test_csv_split_examples(line, values):
    assert _QuotedLineSplitter(",", None)(line) == values
    if values is None:
        assert parse_quoted_record(line, ",", None, [], 0)[0] is None or line.count('"') % 2
