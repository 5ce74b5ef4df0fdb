"""``manage.py importdata``: options, summary, exit codes and exact CommandError messages."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from exports.imports import errors as E
from exports.management.commands import importdata as cmd
from exportsite.shop.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory
from tests.imports.conftest import read_rejects, snapshot

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "imports"


def run(*args, **kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("importdata", *map(str, args), stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_import_prints_a_summary(tmp_path):
    out, _ = run("shop.Customer", DATA / "customers.csv", "--errors", tmp_path / "r.csv")
    assert out.startswith(
        f"Imported {DATA / 'customers.csv'} into shop.Customer (create): "
        "2 rows read, 2 created, 0 updated, 0 rejected in "
    )
    assert Customer.objects.count() == 2


def test_rejected_rows_exit_non_zero_and_write_nothing(tmp_path):
    CustomerFactory(id=1)
    before = snapshot(Order)
    errors = tmp_path / "r.csv"
    with pytest.raises(CommandError) as info:
        run("shop.Order", DATA / "orders_bad_values.csv", "--errors", errors)
    assert info.value.returncode == cmd.EXIT_REJECTED
    assert info.value.args == (cmd.ABORTED.format(rejected=7, read=8, errors=errors),)
    assert snapshot(Order) == before
    assert len(read_rejects(errors)) == 7


def test_skip_mode_says_what_was_written(tmp_path):
    CustomerFactory(id=1)
    errors = tmp_path / "r.csv"
    with pytest.raises(CommandError) as info:
        run("shop.Order", DATA / "orders_bad_values.csv", "--on-error", "skip", "--errors", errors)
    assert info.value.returncode == cmd.EXIT_REJECTED
    assert info.value.args == (
        cmd.PARTIAL.format(written=1, created=1, updated=0, rejected=7, errors=errors, stopped=""),
    )
    assert Order.objects.count() == 1


def test_dry_run(tmp_path):
    out, _ = run("shop.Customer", DATA / "customers.csv", "--dry-run", "--errors", tmp_path / "r")
    assert "Dry run: nothing was written." in out
    assert Customer.objects.count() == 0


def test_dry_run_failure_message(tmp_path):
    errors = tmp_path / "r.csv"
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "nul.csv", "--dry-run", "--errors", errors)
    assert info.value.args == (cmd.DRY_RUN_FAILED.format(rejected=1, read=2, errors=errors),)


def test_file_errors_say_nothing_was_written(tmp_path):
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "empty.csv", "--errors", tmp_path / "r.csv")
    assert info.value.returncode == cmd.EXIT_FAILED
    assert info.value.args == (
        cmd.FILE_ERROR.format(error="The file is empty: expected a header line."),
    )


def test_decode_error_mid_file(tmp_path):
    errors = tmp_path / "r.csv"
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "latin1.csv", "--errors", errors)
    assert info.value.args == (
        cmd.ABORTED_STOPPED.format(
            reason="line 3 (byte offset 104): the byte 0xEB is not valid utf-8 text; name the "
            "file's encoding (for example cp1252 or latin-1).",
            rejects="",
        ),
    )
    assert info.value.returncode == cmd.EXIT_FAILED  # the file itself was refused
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "latin1.csv", "--on-error", "skip", "--errors", errors)
    assert info.value.returncode == cmd.EXIT_FAILED
    assert info.value.args == (
        cmd.PARTIAL.format(
            written=0,
            created=0,
            updated=0,
            rejected=0,
            errors="the messages above",
            stopped="; line 3 (byte offset 104): the byte 0xEB is not valid utf-8 text; name the "
            "file's encoding (for example cp1252 or latin-1)",
        ),
    )
    out, _ = run("shop.Customer", DATA / "latin1.csv", "--encoding", "latin-1", "--errors", errors)
    assert Customer.objects.filter(name="Zoë Müller").exists()


def test_delimiter_null_map_and_format_options(tmp_path):
    CustomerFactory(id=1)
    path = tmp_path / "orders.txt"
    path.write_text("cust;state;cents;off;made\n1;paid;5;\\N;2024-01-01T00:00:00+00:00\n")
    run(
        "shop.Order",
        path,
        "--format",
        "csv",
        "--delimiter",
        ";",
        "--null",
        "\\N",
        "--map",
        "cust=customer_id",
        "--map",
        "state=status",
        "--map",
        "cents=total_cents",
        "--map",
        "off=discount",
        "--map",
        "made=created_at",
        "--errors",
        tmp_path / "r.csv",
    )
    assert Order.objects.get().discount is None


def test_upsert_and_update_with_default_key(tmp_path):
    OrderFactory(total_cents=1)
    order = Order.objects.get()
    path = tmp_path / "u.csv"
    path.write_text(f"reference,total_cents\n{order.reference},99\n")
    out, _ = run("shop.Order", path, "--mode", "update", "--errors", tmp_path / "r.csv")
    assert "0 created, 1 updated" in out
    assert Order.objects.get().total_cents == 99


def test_gzip_and_tsv_and_jsonl_by_suffix(tmp_path):
    import gzip

    path = tmp_path / "c.tsv.gz"
    path.write_bytes(gzip.compress((DATA / "customers.csv").read_bytes().replace(b",", b"\t")))
    run("shop.Customer", path, "--errors", tmp_path / "r.csv")
    assert Customer.objects.count() == 2
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"email": "j@example.com", "name": "J", "country": "DE", '
        '"created_at": "2024-01-01T00:00:00+00:00"}\n'
    )
    run("shop.Customer", path, "--errors", tmp_path / "r.csv")
    assert Customer.objects.filter(email="j@example.com").exists()


def test_stdin(tmp_path, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO((DATA / "customers.csv").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.chdir(tmp_path)
    out, _ = run("shop.Customer", "-")
    assert Customer.objects.count() == 2


def test_stdin_cannot_resume():
    with pytest.raises(CommandError) as info:
        run("shop.Customer", "-", "--resume", "--on-error", "skip")
    assert info.value.args == (cmd.STDIN_RESUME,)


def test_bad_map(tmp_path):
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "customers.csv", "--map", "nothing")
    assert info.value.args == (cmd.BAD_MAP.format(text="nothing"),)


def test_unknown_model():
    with pytest.raises(CommandError) as info:
        run("shop.Nope", DATA / "customers.csv")
    assert info.value.args == (
        'Unknown model "shop.Nope": use app_label.ModelName, for example shop.Order.',
    )


def test_missing_file(tmp_path):
    with pytest.raises(CommandError) as info:
        run("shop.Customer", tmp_path / "nope.csv")
    assert info.value.args == (
        cmd.FILE_ERROR.format(
            error=f'Cannot read "{tmp_path / "nope.csv"}": No such file or directory.'
        ),
    )


def test_max_errors_and_resume(tmp_path):
    path = tmp_path / "c.csv"
    with open(path, "w") as handle:
        handle.write("email,name,country,created_at\n")
        for i in range(10):
            country = "XXX" if i in (1, 2) else "DE"
            handle.write(f"u{i}@example.com,U,{country},2024-01-01T00:00:00+00:00\n")
    errors = tmp_path / "r.csv"
    with pytest.raises(CommandError) as info:
        run(
            "shop.Customer",
            path,
            "--on-error",
            "skip",
            "--chunk-size",
            "2",
            "--max-errors",
            "2",
            "--errors",
            errors,
        )
    assert "stopped after 2 rejected rows (max errors)" in info.value.args[0]
    assert Customer.objects.count() == 1
    out, _ = run(
        "shop.Customer",
        path,
        "--on-error",
        "skip",
        "--chunk-size",
        "2",
        "--resume",
        "--errors",
        errors,
    )
    assert "Resumed after 3 rows done by an earlier run." in out
    assert Customer.objects.count() == 8
    assert [r["line"] for r in read_rejects(errors)] == ["3", "4"]


def test_no_progress_bar_when_not_a_tty(tmp_path, capsys):
    run("shop.Customer", DATA / "customers.csv", "--errors", tmp_path / "r.csv")
    assert "B/s" not in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["base64", "hex", "rot13", "zlib_codec", "uu", "punycode"])
def test_encoding_that_is_not_a_character_set(tmp_path, encoding):
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "customers.csv", "--encoding", encoding)
    assert info.value.args == (
        cmd.FILE_ERROR.format(error=E.NOT_TEXT_ENCODING.format(encoding=encoding)),
    )
    assert info.value.returncode == cmd.EXIT_FAILED
    assert Customer.objects.count() == 0


def test_utf16_named_for_a_utf8_file(tmp_path):
    with pytest.raises(CommandError) as info:
        run("shop.Customer", DATA / "customers.csv", "--encoding", "utf-16")
    assert info.value.args == (
        cmd.FILE_ERROR.format(
            error=E.DECODE_FAILED.format(
                line=1, encoding="utf-16", error="UTF-16 stream does not start with BOM"
            )
        ),
    )


@override_settings(
    EXPORTS={
        "IMPORT_MAX_DECOMPRESSED_SIZE": 10,
        "IMPORT_MAX_ROWS": 1,
        "IMPORT_MAX_ERRORS": 1,
        "IMPORT_MAX_REJECTS_SIZE": 10,
    }
)
def test_the_admins_bounds_do_not_apply(tmp_path):
    """Operators import files of any size on purpose; --max-errors is their own bound."""
    gz = tmp_path / "customers.csv.gz"
    gz.write_bytes(gzip.compress((DATA / "customers.csv").read_bytes()))
    run("shop.Customer", gz, "--errors", tmp_path / "r.csv")
    assert Customer.objects.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,country,created_at\n" + "x,N,DE,\n" * 3)
    with pytest.raises(CommandError):
        run("shop.Customer", bad, "--errors", tmp_path / "r.csv")
    assert len(read_rejects(tmp_path / "r.csv")) == 6  # two problems on each of three rows


def test_a_lookup_column_is_accepted_from_operators(tmp_path):
    """importdata names any model and any unique lookup; import_fields bind the admin only."""
    customer = CustomerFactory(email="ann@example.com")
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer__email,status,total_cents,currency,reference,created_at\n"
        "ann@example.com,paid,100,EUR,5d1b8c6e-0c6f-4a53-9d8e-3c0f6f1e2a10,2024-01-31T13:45:00.000000+00:00\n"
    )
    run("shop.Order", path, "--errors", tmp_path / "r.csv")
    assert Order.objects.get().customer == customer


def test_the_command_collects_cycles_less_often_while_it_imports(tmp_path, monkeypatch):
    import gc

    from exports.imports import import_file
    from exports.imports.collector import GC_THRESHOLD

    seen = []

    def spy(**kwargs):
        seen.append(gc.get_threshold()[0])
        return import_file(**kwargs)

    monkeypatch.setattr(cmd, "import_file", spy)
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        run("shop.Customer", DATA / "customers.csv", "--errors", tmp_path / "r.csv")
        assert Customer.objects.count() == 2
        assert seen == [GC_THRESHOLD]
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*saved)
