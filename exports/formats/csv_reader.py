"""The CSV and TSV readers: decoded text in, records (line number, values, original text) out.

The reader is written by hand because Python's :mod:`csv` cannot keep the exporter's
distinction between NULL (an empty, unquoted field) and the empty string (``""``). It accepts
``\\n``, ``\\r\\n`` and a lone ``\\r`` as line ends, keeps line breaks inside quoted fields as
they are, and never holds more than one record (capped by ``max_line``) in memory: a longer
record is skipped to its end and reported as a row error.

A physical line without a quote (the common case) is split with ``str.split``. A line with an
even number of quotes is split by the :mod:`csv` module (in C), then checked against the line
(see :class:`_QuotedLineSplitter`); only what that cannot vouch for (a record that goes on
past a line break, malformed quoting) goes through the quoted-field parser below.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any, cast

from ..imports.errors import (
    BAD_DELIMITER,
    BAD_NULL_TOKEN,
    BAD_QUOTING,
    EMPTY_FILE,
    ROW_TOO_LONG,
    UNTERMINATED_QUOTE,
    ImportFileError,
    RowError,
)
from .lines import iter_physical_lines
from .reading import Reader, Record, Table

# A quoted field: the closing quote is the first one not doubled (never backtrack into "").
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"(?!")')


class CSVReader(Reader):
    """Comma-separated values as :class:`~exports.formats.csv.CSVWriter` writes them.

    ``delimiter`` replaces the format's own; ``null`` is the text that means NULL (by default
    an empty unquoted field, while ``""`` is the empty string).
    """

    name = "csv"
    extension = "csv"
    delimiter = ","

    def __init__(self, *, delimiter: str | None, null: str | None, max_line: int) -> None:
        super().__init__(delimiter=delimiter, null=null, max_line=max_line)
        delimiter = self.delimiter if delimiter is None else delimiter
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ImportFileError(BAD_DELIMITER.format(delimiter=delimiter))
        if null is not None and (delimiter in null or any(c in null for c in '"\r\n')):
            raise ImportFileError(BAD_NULL_TOKEN)
        self.delimiter = delimiter
        self.null = null

    def read(self, texts: Iterator[str]) -> Table:
        records = iter_csv_records(
            texts, delimiter=self.delimiter, null=self.null, max_line=self.max_line
        )
        header = next(records, None)
        if header is None:
            raise ImportFileError(EMPTY_FILE)
        if header.error:
            raise ImportFileError(str(RowError(header.line, "", header.error)))
        return Table(columns=list(header.values), records=records)


class TSVReader(CSVReader):
    name = "tsv"
    extension = "tsv"
    delimiter = "\t"


def iter_csv_records(
    texts: Iterator[str], *, delimiter: str, null: str | None, max_line: int
) -> Iterator[Record]:
    """Yield CSV records; values are lists of ``str`` or None (NULL).

    A quote opens a quoted field only at the start of a field; a quote anywhere else in an
    unquoted field, or text after a closing quote, makes the record a row error.
    """
    empty_is_null = null is None
    split_quoted = _QuotedLineSplitter(delimiter, null)
    line_no = 0
    # A record whose quoted field runs over several lines, in progress:
    pieces: list[str] = []
    pieces_len = 0
    values: list | None = None
    open_at = 0  # offset of the open field's quote in "".join(pieces)
    quotes = 0  # quotes seen after it (even while the field is open)
    start = 0
    # A record longer than max_line being skipped: only the quote parity is kept.
    skipping = False
    for line, term, line_quotes in iter_physical_lines(texts, max_length=max_line):
        line_no += 1
        if skipping:
            quotes += line_quotes if line is None else line.count('"')
            if quotes % 2 == 0:
                skipping = False
                yield Record(start, None, "", ROW_TOO_LONG.format(limit=max_line))
            continue
        if line is None:
            if pieces:
                quotes += 1 + line_quotes  # the open quote, then this line's
                pieces, pieces_len = [], 0
            else:
                start, quotes = line_no, line_quotes
            if quotes % 2:
                skipping = True
            else:
                yield Record(start, None, "", ROW_TOO_LONG.format(limit=max_line))
            continue
        if not pieces:
            if '"' not in line:
                row = line.split(delimiter)
                if empty_is_null:
                    if "" in row:
                        row = [v or None for v in row]
                elif null in row:
                    row = [None if v == null else v for v in row]
                yield Record(line_no, row, line)
                continue
            if not line.count('"') & 1:
                row = split_quoted(line)
                if row is not None:
                    yield Record(line_no, row, line)
                    continue
            start = line_no
            text, values, open_at = line, [], 0
        else:
            pieces.append(line)
            pieces_len += len(line)
            quotes += line.count('"')
            if quotes % 2 == 0:
                pieces.append(term)
                pieces_len += len(term)
                if pieces_len > max_line:
                    quotes, skipping, pieces, pieces_len = 1 + quotes, True, [], 0
                continue
            text = "".join(pieces)
        # values: the record's so far (a list whenever a field is open)
        values, open_at = parse_quoted_record(text, delimiter, null, cast(list, values), open_at)
        if open_at < 0:
            pieces, pieces_len = [], 0
            if values is None:
                yield Record(start, None, text, BAD_QUOTING)
            else:
                yield Record(start, values, text)
            continue
        pieces = [text, term]
        pieces_len = len(text) + len(term)
        quotes = text.count('"', open_at + 1)
        if pieces_len > max_line:
            quotes, skipping, pieces, pieces_len = 1 + quotes, True, [], 0
    if pieces or skipping:
        raise ImportFileError(UNTERMINATED_QUOTE.format(line=start))


class _QuotedLineSplitter:
    """Split one physical line with quotes by :mod:`csv`, or return None when unsure.

    :mod:`csv` cannot say which fields were quoted, so the line is walked once with the
    values it returned: a field that starts with a quote spans its value, doubled quotes and
    two more characters; any other field spans its value, which must hold no quote (``ab"c``
    is refused here, where :mod:`csv` would take it as it is) and is NULL when it is the NULL
    text. If the spans do not add up to the line, the slow parser decides.
    """

    def __init__(self, delimiter: str, null: str | None) -> None:
        self.line: str | None = None
        self.null_text = "" if null is None else null
        self.reader = csv.reader(self, delimiter=delimiter, strict=True)

    # The reader pulls its lines from here: one per call.
    def __iter__(self) -> _QuotedLineSplitter:
        return self

    def __next__(self) -> str:
        line = self.line
        if line is None:
            raise StopIteration
        self.line = None
        return line

    def __call__(self, line: str) -> list | None:
        self.line = line
        try:
            row: list[Any] = next(self.reader)  # its NULL fields become None below
        except (csv.Error, StopIteration):
            self.line = None
            return None
        null_text = self.null_text
        starts = line.startswith
        pos = 0
        for index, value in enumerate(row):
            if starts('"', pos):
                pos += len(value) + value.count('"') + 3
            else:
                if '"' in value:
                    return None
                if value == null_text:
                    row[index] = None
                pos += len(value) + 1
        return row if pos == len(line) + 1 else None


def parse_quoted_record(
    text: str, delimiter: str, null: str | None, values: list, pos: int
) -> tuple[list | None, int]:
    """Split ``text`` from ``pos`` (the start of a field), appending to ``values``.

    Returns ``(values, -1)`` for a complete record, ``(None, -1)`` when its quoting is
    malformed, and ``(values, offset)`` when the quoted field starting at ``offset`` is still
    open (the record goes on past a line break).
    """
    end = len(text)
    null_text = "" if null is None else null
    match = _QUOTED.match
    find = text.find
    while True:
        if text.startswith('"', pos):
            found = match(text, pos)
            if found is None:
                return values, pos
            values.append(found.group(1).replace('""', '"'))
            pos = found.end()
            if pos == end:
                return values, -1
            if text[pos] != delimiter:
                return None, -1
        else:
            stop = find(delimiter, pos)
            if stop < 0:
                stop = end
            value = text[pos:stop]
            if '"' in value:
                return None, -1
            values.append(None if value == null_text else value)
            pos = stop
            if pos == end:
                return values, -1
        pos += 1
