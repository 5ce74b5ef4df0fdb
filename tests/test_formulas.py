"""Formula neutralising: the rule, its SQL twin on PostgreSQL, and every engine alike."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.textforms import (
    FORMULA_SQL,
    JSON_FORMULA_SQL,
    dump_jsonb,
    neutralise_formula,
    neutralise_json_formula,
)
from exportsite.shop.models import Customer, Order
from tests.exporting import ENGINES, export_bytes

HOSTILE_CHARS = (
    "=+-@,;\t\r\n\"' xa1(|!\u00a0\u2003\u200b\u200d\u2060\u3000\ufeff\uff1d\uff0b\uff0d\uff20\u2212"
)
# Mostly the characters the rule is about, some of anything else PostgreSQL can store.
hostile_text = st.text(
    alphabet=st.sampled_from(HOSTILE_CHARS)
    | st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a=b, c-d; e@f", "a=b, c-d; e@f"),
        ("=1+2", "'=1+2"),
        ("-2 items", "'-2 items"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("\nLF", "'\nLF"),
        ("\x00NUL", "'\x00NUL"),
        ("x;\x00=1+1", "x;'\x00=1+1"),  # LibreOffice drops the NUL: a formula before
        ("x\n \x00@x", "x\n' \x00@x"),
        ("x;=1+1", "x;'=1+1"),
        ("x,=1+1", "x,'=1+1"),
        ("x\t=1+1", "x\t'=1+1"),
        ("x;\t=1", "x;\t'=1"),
        ("x;\u00a0 \ufeff=1", "x;'\u00a0 \ufeff=1"),
        ('x;""@x', 'x;\'""@x'),
        ("\uff20x", "'\uff20x"),
        ("\u2212x", "'\u2212x"),
        ("'=already", "'=already"),
    ],
    ids=repr,
)
def test_the_rule(text, expected):
    assert neutralise_formula(text) == expected


@given(hostile_text)
def test_only_quotes_are_added_and_a_second_pass_changes_nothing(text):
    out = neutralise_formula(text)

    assert out.replace("'", "") == text.replace("'", "")
    assert neutralise_formula(out) == out


def _without_quotes(value):
    if isinstance(value, str):
        return value.replace("'", "")
    if isinstance(value, list):
        return [_without_quotes(v) for v in value]
    if isinstance(value, dict):
        return {_without_quotes(k): _without_quotes(v) for k, v in value.items()}
    return value


@given(json_values)
def test_json_cells_stay_valid_json_with_only_quotes_added(value):
    text = dump_jsonb(value)
    out = neutralise_json_formula(text)

    assert _without_quotes(json.loads(out)) == _without_quotes(value)
    assert neutralise_json_formula(out) == out
    if isinstance(value, list | dict):
        assert out[0] == text[0]


@pytest.mark.postgres
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text, value=json_values)
def test_sql_twins_print_what_python_writes(db, text, value):
    text_sql = FORMULA_SQL.replace("{0}", "%s::text")
    json_sql = JSON_FORMULA_SQL.replace("{0}", "%s::jsonb")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {text_sql}, {json_sql}, %s::jsonb::text",
            [text, text] + [json.dumps(value)] * 2,
        )
        sql_text, sql_json, jsonb_text = cursor.fetchone()

    assert sql_text == neutralise_formula(text)
    assert jsonb_text == dump_jsonb(value)
    assert sql_json == neutralise_json_formula(jsonb_text)


HOSTILE_ROWS = [
    ("x;=1+1", {"a": [1, -2], "b": "y;=2+2"}),
    ("a,-2\tb\t+3", {"=k": "p,@q"}),
    (' =1;"=2\r\n@3', ["\u00a0=1", "z;\u2212"]),
    ("\ufeff=HYPERLINK(1)", {}),
]
EXPECTED_CSV = (
    "id,customer__email,note,metadata\n"
    '1,\'=x;\'=1@example.com,x;\'=1+1,"{""a"": [1, -2], ""b"": ""y;\'=2+2""}"\n'
    '2,\'=x;\'=1@example.com,"a,\'-2\tb\t\'+3","{""=k"": ""p,\'@q""}"\n'
    '3,\'=x;\'=1@example.com,"\' =1;\'""=2\r\n\'@3","[""\u00a0=1"", ""z;\'\u2212""]"\n'
    "4,'=x;'=1@example.com,'\ufeff=HYPERLINK(1),{}\n"
)


CREATED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def create_hostile_orders() -> None:
    customer = Customer.objects.create(
        id=1,
        email="=x;=1@example.com",
        name="n",
        country="DE",
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    for pk, (note, metadata) in enumerate(HOSTILE_ROWS, start=1):
        Order.objects.create(
            id=pk,
            customer=customer,
            total_cents=-pk,
            note=note,
            metadata=metadata,
            created_at=CREATED,
            reference=uuid.UUID(int=pk, version=4),
        )


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_neutralises_hostile_values_alike(engine):
    create_hostile_orders()
    fields = ["id", "customer__email", "note", "metadata"]

    csv_data = export_bytes(fields=fields, engine=engine, escape_formulas=True)
    tsv_data = export_bytes(fields=fields, format="tsv", engine=engine, escape_formulas=True)

    assert csv_data == EXPECTED_CSV.encode()
    assert tsv_data == export_bytes(
        fields=fields, format="tsv", engine="keyset", escape_formulas=True
    )
    assert b"x;'=1+1" in tsv_data


@pytest.mark.django_db
def test_jsonl_neutralises_text_and_json_values():
    create_hostile_orders()

    data = export_bytes(fields=["note", "metadata"], format="jsonl", escape_formulas=True)

    first = json.loads(data.splitlines()[0])
    assert first == {"note": "x;'=1+1", "metadata": {"a": [1, -2], "b": "y;'=2+2"}}
    plain = export_bytes(fields=["note", "metadata"], format="jsonl")
    assert json.loads(plain.splitlines()[0])["metadata"]["b"] == "y;=2+2"
