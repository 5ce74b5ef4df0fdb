"""exports.textforms: formula neutralising, its SQL twins, and the names it keeps for old imports.

The rule itself, over hostile text and every engine, is tested in tests/test_formulas.py.
"""

from __future__ import annotations

import json

import pytest

from exports import kinds, textforms


@pytest.mark.parametrize(
    "name",
    ["Kind", "kind_of", "text_formatter", "as_text", "canonical_json_text", "dump_jsonb", "UTC"],
)
def test_the_old_import_paths_give_the_kinds_own_objects(name):
    assert getattr(textforms, name) is getattr(kinds, name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("=SUM(A1)", "'=SUM(A1)"),
        ("\x00=1", "'\x00=1"),  # LibreOffice drops the NUL and runs what follows
        ("\r", "'\r"),
        ("a,b;c", "a,b;c"),
        ("a, -1", "a,' -1"),  # a text cell: the blank after a separator does not hide a sign
    ],
    ids=repr,
)
def test_text_cells(text, expected):
    assert textforms.neutralise_formula(text) == expected


def test_json_cells_leave_numbers_after_a_separator_alone():
    text = '[1, -2, "x,=y", {"k": -3}]'
    out = textforms.neutralise_json_formula(text)
    assert out == '[1, -2, "x,\'=y", {"k": -3}]'
    assert json.loads(out) == [1, -2, "x,'=y", {"k": -3}]


def test_the_sql_twins_never_spell_nul():
    # PostgreSQL's text never holds NUL and its regular expressions refuse \x00.
    for sql in (textforms.FORMULA_SQL, textforms.JSON_FORMULA_SQL):
        assert r"\x00" not in sql and "\x00" not in sql
        assert sql.count("{0}") >= 1
    assert r"\x00" in textforms.FORMULA_BLANKS  # the Python rule keeps it
