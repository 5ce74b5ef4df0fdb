"""``manage.py seed_demo --orders N``: fill the demo tables deterministically, fast."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from exports.management.options import non_negative_int, positive_int
from exportsite.shop.seeding import seed


class Command(BaseCommand):
    help = (
        "Replace the demo customers and orders with N deterministic orders (seeded random "
        "generator) with tricky text and NULLs mixed in. COPY on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders", type=non_negative_int, default=100_000, help="Orders (default 100000)."
        )
        parser.add_argument(
            "--customers", type=positive_int, help="Customers (default: orders / 20)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            choices=tuple(connections),
            help="Database alias (default: %(default)s).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(
        self,
        *,
        orders: int,
        customers: int | None,
        seed: int,
        database: str,
        no_progress: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        started = time.monotonic()
        bar = None
        if verbosity > 0 and not no_progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=orders, unit=" orders", unit_scale=True, file=sys.stderr)
        try:
            made = seed_demo(orders, customers, seed, database, bar.update if bar else None)
        finally:
            if bar is not None:
                bar.close()
        if verbosity > 0:
            self.stdout.write(
                f"Seeded {made[0]:,} customers and {made[1]:,} orders "
                f"in {time.monotonic() - started:.1f} s."
            )


def seed_demo(orders, customers, seed_value, database, on_progress):
    return seed(
        orders=orders,
        customers=customers,
        seed=seed_value,
        using=database,
        on_progress=on_progress,
    )
