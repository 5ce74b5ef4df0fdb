"""``manage.py exportdata``: output, options, every CommandError, and no partial files."""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

from exports import engines
from exportsite.shop.models import Order
from tests.exporting import DATA, ENGINES, ORDER_FIELDS, create_tricky_orders
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(
    r"Exported (?P<rows>[\d,]+) rows of shop\.Order to (?P<where>.+) in \d+\.\d\d s "
    r"\((?:[\d,]+|inf) rows/s, engine (?P<engine>\w+)\)\.\n"
)
ROOT = Path(__file__).resolve().parents[2]


def run(*args, **options) -> tuple[bytes, str]:
    """Run exportdata; return (bytes written to stdout, text written to stderr).

    stdout is binary when the data goes there, text (for the summary) with ``-o PATH``.
    """
    to_file = "-o" in args and args[args.index("-o") + 1] != "-"
    stdout, stderr = (io.StringIO() if to_file else io.BytesIO()), io.StringIO()
    call_command("exportdata", *args, stdout=stdout, stderr=stderr, **options)
    out = stdout.getvalue()
    return (out.encode() if to_file else out), stderr.getvalue()


def fails(*args) -> str:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    return str(excinfo.value)


@pytest.fixture
def orders():
    customer = CustomerFactory(email="a@example.com", country="FR")
    for pk, status, cents in [(1, "paid", 100), (2, "shipped", 250), (3, "paid", 300)]:
        OrderFactory(id=pk, customer=customer, status=status, total_cents=cents)


# Output -------------------------------------------------------------------------------------


def test_stdout_by_default_with_the_summary_on_stderr(orders):
    out, err = run("shop.Order", "--fields", "id,status")

    assert out == b"id,status\n1,paid\n2,shipped\n3,paid\n"
    match = SUMMARY.fullmatch(err)
    assert match, err
    assert match["rows"] == "3"
    assert match["where"] == "stdout"


def test_dash_means_stdout(orders):
    out, _ = run("shop.Order", "-o", "-", "--fields", "id", "-v", "0")

    assert out == b"id\n1\n2\n3\n"


def test_verbosity_zero_is_silent(orders):
    _, err = run("shop.Order", "--fields", "id", "-v", "0")

    assert err == ""


def test_a_text_stdout_gets_the_same_text(orders):
    stdout = io.StringIO()
    call_command("exportdata", "shop.Order", "--fields", "id", stdout=stdout, verbosity=0)

    assert stdout.getvalue() == "id\n1\n2\n3\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders.csv", b"id,status\n1,paid\n"),
        ("orders.tsv", b"id\tstatus\n1\tpaid\n"),
        ("orders.jsonl", b'{"id": 1, "status": "paid"}\n'),
        ("orders.txt", b"id,status\n1,paid\n"),
    ],
)
def test_the_format_follows_the_suffix(orders, tmp_path, name, expected):
    target = tmp_path / name

    out, err = run("shop.Order", "-o", str(target), "--fields", "id,status", "--limit", "1")

    assert target.read_bytes() == expected
    assert SUMMARY.fullmatch(out.decode())["where"] == str(target)
    assert err == ""
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders.csv.gz", b"id,status\n1,paid\n"),
        ("orders.tsv.gz", b"id\tstatus\n1\tpaid\n"),
        ("orders.jsonl.gz", b'{"id": 1, "status": "paid"}\n'),
    ],
)
def test_gz_suffix_compresses(orders, tmp_path, name, expected):
    target = tmp_path / name

    run("shop.Order", "-o", str(target), "--fields", "id,status", "--limit", "1", "-v", "0")

    with gzip.open(target) as handle:
        assert handle.read() == expected


def test_format_option_overrides_the_suffix(orders, tmp_path):
    target = tmp_path / "orders.tsv"

    run("shop.Order", "-o", str(target), "--format", "csv", "--fields", "id,status", "-v", "0")

    assert target.read_bytes() == b"id,status\n1,paid\n2,shipped\n3,paid\n"


def test_every_option_of_the_tricky_export(tmp_path):
    create_tricky_orders()
    target = tmp_path / "tricky.csv"

    run("shop.Order", "-o", str(target), "--fields", ",".join(ORDER_FIELDS), "--chunk-size", "3")

    assert target.read_bytes() == (DATA / "tricky_orders.csv").read_bytes()


def test_escape_formulas_bom_and_no_header(orders):
    Order.objects.filter(pk=2).update(status="=cmd")

    out, _ = run("shop.Order", "--fields", "id,status", "--escape-formulas", "--bom", "--no-header")

    assert out == b"\xef\xbb\xbf1,paid\n2,'=cmd\n3,paid\n"


@pytest.mark.parametrize("delimiter", ["\\t", "tab", "\t"], ids=["backslash-t", "word", "tab"])
def test_tab_delimiter_spellings(orders, delimiter):
    out, _ = run("shop.Order", "--fields", "id,status", "--delimiter", delimiter, "--limit", "1")

    assert out == b"id\tstatus\n1\tpaid\n"


def test_semicolon_delimiter(orders):
    out, _ = run("shop.Order", "--fields", "id,customer__email", "--delimiter", ";", "--limit", "1")

    assert out == b"id;customer__email\n1;a@example.com\n"


def test_filters_are_typed_and_anded(orders):
    out, _ = run(
        "shop.Order",
        "--fields",
        "id,total_cents",
        "--filter",
        "total_cents__gte=150",
        "--filter",
        "status__in=paid,shipped",
        "--filter",
        "customer__country=FR",
        "--filter",
        "created_at__gte=2024-01-01",
    )

    assert out == b"id,total_cents\n2,250\n3,300\n"


def test_order_by_and_limit(orders):
    out, err = run(
        "shop.Order", "--fields", "id,status", "--order-by", "status,-id", "--limit", "2"
    )

    assert out == b"id,status\n3,paid\n1,paid\n"
    assert SUMMARY.fullmatch(err)["rows"] == "2"


def test_limit_zero(orders):
    out, _ = run("shop.Order", "--fields", "id", "--limit", "0")

    assert out == b"id\n"


def test_engine_is_named_in_the_summary(orders):
    _, err = run("shop.Order", "--fields", "id", "--engine", "cursor")

    assert SUMMARY.fullmatch(err)["engine"] == "cursor"


def test_model_label_is_case_insensitive(orders):
    out, _ = run("SHOP.order", "--fields", "id", "--limit", "1")

    assert out == b"id\n1\n"


def test_default_fields(orders):
    out, _ = run("shop.Customer", "--limit", "1")

    assert out.splitlines()[0] == b"id,email,name,country,created_at"


def test_database_alias_must_exist():
    message = fails("shop.Order", "--database", "other")

    assert message == (
        "Error: argument --database: invalid choice: 'other' (choose from "
        + ", ".join(repr(alias) for alias in ("default",))
        + ")"
    )


def test_progress_bar_on_a_terminal(orders, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    out, err = run("shop.Order", "--fields", "id", "--chunk-size", "1")

    assert out == b"id\n1\n2\n3\n"
    assert "100%" in terminal.getvalue()
    assert SUMMARY.fullmatch(err)


def test_no_progress_bar_with_no_progress(orders, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    run("shop.Order", "--fields", "id", "--no-progress")

    assert terminal.getvalue() == ""


# Every CommandError -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["shop.Nope"],
            'Unknown model "shop.Nope": use app_label.ModelName, for example shop.Order.',
        ),
        (["Order"], 'Bad model "Order": use app_label.ModelName, for example shop.Order.'),
        (
            ["shop.Order", "--fields", "id,nope"],
            'Unknown field "nope" on shop.Order (in field path "nope").',
        ),
        (
            ["shop.Order", "--fields", "customer__nope"],
            'Unknown field "nope" on shop.Customer (in field path "customer__nope").',
        ),
        (
            ["shop.Order", "--fields", "status__x"],
            'Field "status" on shop.Order is not a relation, so "status__x" cannot go through it.',
        ),
        (
            ["shop.Customer", "--fields", "id,orders__status"],
            'Field path "orders__status" goes through "orders" on shop.Customer, which holds '
            "many rows per row; only forward foreign keys and one-to-one relations can be "
            "followed.",
        ),
        (["shop.Order", "--fields", "id,status,id"], 'Field "id" is asked for more than once.'),
        (["shop.Order", "--fields", "id,,status"], 'Empty field name in "id,,status".'),
        (
            ["shop.Order", "--filter", "status"],
            'Bad filter "status": write LOOKUP=VALUE, for example status=paid.',
        ),
        (
            ["shop.Order", "--filter", "created_at__year=2024"],
            'Bad filter "created_at__year=2024": unknown lookup "year"; use one of: contains, '
            "endswith, exact, gt, gte, icontains, iendswith, iexact, in, isnull, istartswith, "
            "lt, lte, range, startswith.",
        ),
        (
            ["shop.Order", "--filter", "nope=1"],
            'Bad filter "nope=1": Unknown field "nope" on shop.Order (in field path "nope").',
        ),
        (["shop.Order", "--filter", "id=abc"], 'Bad filter "id=abc": "abc" is not an integer.'),
        (
            ["shop.Order", "--filter", "created_at__gte=soon"],
            'Bad filter "created_at__gte=soon": "soon" is not a date and time '
            "(YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]).",
        ),
        (
            ["shop.Order", "--filter", "is_gift=perhaps"],
            'Bad filter "is_gift=perhaps": "perhaps" is not a boolean (true or false).',
        ),
        (
            ["shop.Order", "--order-by", "nope"],
            'Unknown field "nope" on shop.Order (in field path "nope").',
        ),
        (
            ["shop.Order", "--delimiter", ";;"],
            "The delimiter must be one character other than a quote or a line break, not ';;'.",
        ),
        (
            ["shop.Order", "--delimiter", '"'],
            "The delimiter must be one character other than a quote or a line break, not '\"'.",
        ),
        (
            ["shop.Order", "--format", "jsonl", "--delimiter", ";"],
            "The jsonl format has no delimiter option.",
        ),
        (
            ["shop.Order", "--chunk-size", "0"],
            "Error: argument --chunk-size: 0 is not a positive number.",
        ),
        (
            ["shop.Order", "--chunk-size", "many"],
            'Error: argument --chunk-size: "many" is not a whole number.',
        ),
        (["shop.Order", "--limit", "-1"], "Error: argument --limit: -1 is negative."),
        (["shop.Order", "--limit", "1.5"], 'Error: argument --limit: "1.5" is not a whole number.'),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_user_mistakes(args, message, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert fails(*args) == message


@pytest.mark.sqlite
def test_copy_engine_on_sqlite():
    assert fails("shop.Order", "--engine", "copy") == (
        "The copy engine needs PostgreSQL; this database is sqlite."
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--delimiter", "§"],
            "The copy engine needs a one-byte (ASCII) delimiter, not '§'; "
            "use --engine cursor or keyset.",
        ),
    ],
)
def test_copy_engine_refusals_on_postgres(args, message):
    assert fails("shop.Order", "--engine", "copy", *args) == message


def test_missing_output_directory(tmp_path):
    target = tmp_path / "nope" / "orders.csv"

    assert fails("shop.Order", "-o", str(target)) == (
        f'Cannot write "{target}": the directory "{tmp_path / "nope"}" does not exist.'
    )
    assert os.listdir(tmp_path) == []


def test_output_is_a_directory(tmp_path):
    assert fails("shop.Order", "-o", str(tmp_path)) == (
        f'Cannot write "{tmp_path}": it is a directory; give a file name.'
    )


def test_usage_errors_on_the_command_line_are_not_tracebacks(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    result = subprocess.run(
        [sys.executable, "manage.py", "exportdata", "shop.Order", "--chunk-size", "abc"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.endswith(
        'exportdata: error: argument --chunk-size: "abc" is not a whole number.\n'
    )
    assert "Traceback" not in result.stderr


# Failures after the first byte --------------------------------------------------------------


@pytest.fixture
def fail_after_first_batch(monkeypatch):
    """Make whichever engine runs raise ``exception`` after its first batch."""

    def install(exception):
        def wrap(original):
            def batches(*args, **kwargs):
                iterator = original(*args, **kwargs)
                yield next(iterator)
                iterator.close()
                raise exception

            return batches

        for name in ("iter_copy_chunks", "iter_cursor_batches", "iter_keyset_batches"):
            monkeypatch.setattr(engines, name, wrap(getattr(engines, name)))

    return install


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz"])
def test_database_error_mid_stream_leaves_no_file(
    orders, tmp_path, fail_after_first_batch, engine, name
):
    fail_after_first_batch(OperationalError("server closed the connection unexpectedly"))
    target = tmp_path / name

    message = fails("shop.Order", "-o", str(target), "--chunk-size", "2", "--engine", engine)

    assert message == (
        f"Export failed after 2 rows: server closed the connection unexpectedly "
        f"({target} was not written)"
    )
    assert os.listdir(tmp_path) == []


def test_ctrl_c_mid_stream_leaves_no_file(orders, tmp_path, fail_after_first_batch):
    fail_after_first_batch(KeyboardInterrupt())
    target = tmp_path / "orders.csv"

    message = fails("shop.Order", "-o", str(target), "--chunk-size", "2")

    assert message == f"Export interrupted after 2 rows ({target} was not written)."
    assert os.listdir(tmp_path) == []


def test_an_unexpected_exception_mid_stream_leaves_no_file(
    orders, tmp_path, fail_after_first_batch
):
    fail_after_first_batch(RuntimeError("a bug"))
    target = tmp_path / "orders.csv"

    with pytest.raises(RuntimeError, match="^a bug$"):
        run("shop.Order", "-o", str(target), "--chunk-size", "2")

    assert os.listdir(tmp_path) == []


def test_a_failed_export_keeps_the_previous_file(orders, tmp_path, fail_after_first_batch):
    fail_after_first_batch(OperationalError("gone"))
    target = tmp_path / "orders.csv"
    target.write_bytes(b"yesterday's export\n")

    fails("shop.Order", "-o", str(target), "--chunk-size", "2")

    assert target.read_bytes() == b"yesterday's export\n"
    assert os.listdir(tmp_path) == ["orders.csv"]


def test_database_error_on_stdout(orders, fail_after_first_batch):
    fail_after_first_batch(OperationalError("gone"))

    assert fails("shop.Order", "--chunk-size", "2") == "Export failed after 2 rows: gone"


def test_ctrl_c_on_stdout(orders, fail_after_first_batch):
    fail_after_first_batch(KeyboardInterrupt())

    assert fails("shop.Order", "--chunk-size", "2") == "Export interrupted after 2 rows."


def test_broken_pipe(orders):
    class ClosedPipe(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(CommandError) as excinfo:
        call_command("exportdata", "shop.Order", stdout=ClosedPipe(), stderr=io.StringIO())

    assert str(excinfo.value) == (
        "Export stopped after 0 rows: the output was closed (broken pipe)."
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failure_releases_the_transaction(orders, tmp_path, fail_after_first_batch, engine):
    fail_after_first_batch(OperationalError("gone"))
    depth = len(connection.savepoint_ids)

    fails("shop.Order", "-o", str(tmp_path / "x.csv"), "--chunk-size", "1", "--engine", engine)

    assert len(connection.savepoint_ids) == depth
    assert Order.objects.count() == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "total_cents__in=1,99999999999999999999999",
            'Bad filter "total_cents__in=1,99999999999999999999999": "99999999999999999999999" '
            "is out of range for this field (-9223372036854775808 to 9223372036854775807).",
            id="int-in-list",
        ),
        pytest.param(
            "created_at__gte=0001-01-01T00:00:00+14:00",
            'Bad filter "created_at__gte=0001-01-01T00:00:00+14:00": '
            '"0001-01-01T00:00:00+14:00" is out of range once converted to UTC.',
            id="datetime",
        ),
        pytest.param(
            "note__contains=a\x00b",
            'Bad filter "note__contains=a\\x00b": the value contains a NUL character (\\x00), '
            "which the database cannot store or compare.",
            id="nul",
        ),
    ],
)
def test_filter_values_the_column_cannot_hold(orders, tmp_path, value, message):
    target = tmp_path / "orders.csv"

    with pytest.raises(CommandError) as excinfo:
        run("shop.Order", "--filter", value, "-o", str(target))

    assert excinfo.value.args == (message,)
    assert list(tmp_path.iterdir()) == []
