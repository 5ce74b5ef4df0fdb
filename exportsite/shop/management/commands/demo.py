"""``manage.py demo``: the quickstart. Migrate, seed, export, and say how to go on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from exports.management.options import non_negative_int

NEXT_STEPS = """
What just happened
  1. migrate           created the tables in {database}
  2. seed_demo         {orders:,} orders with tricky text (quotes, newlines, emoji, RTL, formulas)
  3. exportdata        streamed them to {output} ({size:,} bytes) in chunks, memory flat

Go on
  uv run manage.py exportdata shop.Order --fields id,customer__email,status,total_cents \\
      --filter status=paid --filter created_at__gte=2024-01-01 -o paid.csv.gz
  uv run manage.py exportdata shop.Customer --format jsonl | head
  uv run manage.py help exportdata            # every option
  uv run manage.py createsuperuser && uv run manage.py runserver
      then http://127.0.0.1:8000/admin/shop/order/ (export actions) and
      http://127.0.0.1:8000/exports/shop/order.csv?fields=id,status&status=paid
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run manage.py demo
      runs the same on PostgreSQL (server-side cursors and COPY)
"""


class Command(BaseCommand):
    help = (
        "Quickstart: migrate the database, seed the demo shop with N orders, export them "
        "to a CSV file with a progress bar, and print how to go on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders",
            type=non_negative_int,
            default=200_000,
            help="Orders to seed (default %(default)s).",
        )
        parser.add_argument(
            "-o",
            "--output",
            default=str(Path(settings.BASE_DIR) / "out" / "orders.csv"),
            help="Where to write the export (default: out/orders.csv).",
        )

    def handle(self, *, orders: int, output: str, verbosity: int, **options: Any) -> None:
        started = time.monotonic()
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(self.style.MIGRATE_HEADING("1/3 migrate"))
        call_command("migrate", verbosity=0, interactive=False)
        self.stdout.write(self.style.MIGRATE_HEADING(f"2/3 seed_demo --orders {orders}"))
        call_command("seed_demo", orders=orders, verbosity=verbosity)
        self.stdout.write(self.style.MIGRATE_HEADING(f"3/3 exportdata shop.Order -o {output}"))
        call_command("exportdata", "shop.Order", output=output, verbosity=verbosity)
        self.stdout.write(
            NEXT_STEPS.format(
                database=_describe_database(),
                orders=orders,
                output=output,
                size=Path(output).stat().st_size,
            )
        )
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))


def _describe_database() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite ({settings_dict['NAME']})"
    return f"{connection.vendor} ({settings_dict.get('HOST') or 'local'}/{settings_dict['NAME']})"
