"""Deterministic demo rows (seeded random generator), with tricky text and NULLs mixed in."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal

START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SPAN_SECONDS = 5 * 365 * 24 * 3600

FIRST_NAMES = ["Ana", "Bjørn", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiro", "Zoë"]
LAST_NAMES = ["O'Brien", "Ångström", "Nguyễn", "Smith", "García", "Müller", "van der Berg"]
COUNTRIES = ["DE", "FR", "GB", "US", "JP", "BR", "EG", "IL", "NL", "PL"]
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "GBP", "JPY"]
STATUSES = ["pending", "paid", "paid", "paid", "shipped", "shipped", "cancelled", "refunded"]
# Notes that trip up naive CSV code: separators, quotes, line breaks, formulas, scripts.
TRICKY_NOTES = [
    "",
    "Leave at the door, please",
    'Gift wrap: "blue", with a card',
    "Line one\nLine two",
    "Windows line\r\nbreak",
    "Lone\rcarriage return",
    "Emoji 🎁📦✨",
    "עברית: נא להתקשר לפני המשלוח",
    "مرحبا، شكرا لك",
    '=HYPERLINK("http://example.com","click")',
    "+1 555 0100",
    "-2 items, refunded",
    "@mention the courier",
    "\tstarts with a tab",
    "back\\slash and \\N and \\.",
    "\\.",
    "semi;colon|pipe\ttab",
    "  padded  ",
    "NULL",
]
WORDS = [
    "fast",
    "delivery",
    "fragile",
    "blue",
    "red",
    "large",
    "small",
    "express",
    "standard",
    "returned",
    "box",
]


def customer_rows(count: int, *, seed: int) -> Iterator[tuple]:
    """``(id, email, name, country, created_at)`` tuples."""
    rng = random.Random(seed)
    for pk in range(1, count + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        created = START + dt.timedelta(seconds=rng.randrange(SPAN_SECONDS))
        yield (pk, f"customer{pk}@example.com", name, rng.choice(COUNTRIES), created)


def order_rows(count: int, *, customers: int, seed: int) -> Iterator[tuple]:
    """Order tuples in the column order of :data:`ORDER_COLUMNS`."""
    rng = random.Random(seed + 1)
    uuid_bits = random.Random(seed + 2)
    for pk in range(1, count + 1):
        roll = rng.random()
        if roll < 0.2:
            note = rng.choice(TRICKY_NOTES)
        elif roll < 0.5:
            note = ""
        else:
            note = " ".join(rng.choices(WORDS, k=rng.randint(1, 6)))
        created = START + dt.timedelta(
            seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1_000_000)
        )
        status = rng.choice(STATUSES)
        shipped = (
            (created + dt.timedelta(days=rng.randint(0, 9))).date()
            if status in ("shipped", "refunded")
            else None
        )
        discount = Decimal(rng.randint(0, 5000)) / 100 if rng.random() < 0.3 else None
        metadata = (
            {"channel": rng.choice(["web", "app", "phone"]), "items": rng.randint(1, 9)}
            if rng.random() < 0.7
            else {}
        )
        yield (
            pk,
            rng.randint(1, customers),
            status,
            rng.randint(100, 500_000),
            rng.choice(CURRENCIES),
            discount,
            rng.random() < 0.1,
            created,
            shipped,
            note,
            uuid.UUID(int=uuid_bits.getrandbits(128), version=4),
            metadata,
        )


ORDER_COLUMNS = (
    "id",
    "customer_id",
    "status",
    "total_cents",
    "currency",
    "discount",
    "is_gift",
    "created_at",
    "shipped_on",
    "note",
    "reference",
    "metadata",
)
CUSTOMER_COLUMNS = ("id", "email", "name", "country", "created_at")
