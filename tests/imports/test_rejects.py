"""The reject file: opened on the first rejected row, bounded, truncated on resume."""

from __future__ import annotations

import pytest

from exports.imports import ImportFileError
from exports.imports import errors as E
from exports.imports.errors import RowError
from exports.imports.rejects import HEADER, RAW_PREVIEW, RejectWriter, preview


def test_no_file_until_a_row_is_rejected(tmp_path):
    path = tmp_path / "r.csv"
    writer = RejectWriter(path)
    writer.close()
    assert not path.exists() and not writer.written
    assert writer.size() == 0


def test_one_line_per_problem_with_the_original_row(tmp_path):
    path = tmp_path / "r.csv"
    writer = RejectWriter(path)
    writer.write([RowError(3, "total", '"x" is not an integer'), RowError(3, "id", "bad")], "x,y")
    writer.write([RowError(7, "", "expected 2 fields, found 3")], 'a,"b\nc",d')
    writer.close()
    assert writer.written and (writer.rows, writer.problems) == (2, 3)
    assert path.read_text(encoding="utf-8") == (
        ",".join(HEADER) + "\n"
        '3,total,"""x"" is not an integer","x,y"\n'
        '3,id,bad,"x,y"\n'
        '7,,"expected 2 fields, found 3","a,""b\nc"",d"\n'
    )


def test_without_a_path_rows_are_only_counted():
    writer = RejectWriter(None)
    writer.write([RowError(2, "a", "bad"), RowError(2, "b", "bad")], "row")
    assert (writer.rows, writer.problems, writer.written) == (1, 2, False)


def test_long_rows_are_cut():
    assert preview("x" * RAW_PREVIEW) == "x" * RAW_PREVIEW
    assert preview("x" * (RAW_PREVIEW + 1)) == "x" * RAW_PREVIEW + "…"


def test_max_bytes_stops_before_the_row_that_would_cross_it(tmp_path):
    path = tmp_path / "r.csv"
    header = len(",".join(HEADER)) + 1
    row = len("2,,bad,row\n")
    writer = RejectWriter(path, max_bytes=header + 2 * row)
    writer.write([RowError(2, "", "bad")], "row")
    writer.write([RowError(2, "", "bad")], "row")
    with pytest.raises(ImportFileError) as exc:
        writer.write([RowError(2, "", "bad")], "row")
    writer.close()
    assert str(exc.value) == E.REJECTS_TOO_LARGE.format(limit=header + 2 * row)
    assert path.stat().st_size == header + 2 * row


def test_resume_truncates_then_appends_without_a_second_header(tmp_path):
    path = tmp_path / "r.csv"
    first = RejectWriter(path)
    first.write([RowError(2, "", "kept")], "a")
    first.flush()
    kept = first.size()
    first.write([RowError(9, "", "redone")], "b")  # a batch that was never committed
    first.close()
    second = RejectWriter(path, append=True)
    assert second.written and second.size() == path.stat().st_size
    second.truncate(kept)
    second.write([RowError(9, "", "again")], "b")
    second.close()
    assert path.read_text(encoding="utf-8") == "line,column,message,row\n2,,kept,a\n9,,again,b\n"
