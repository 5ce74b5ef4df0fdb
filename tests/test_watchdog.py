"""The stalled-client watchdog: its timing, the HTTP sink's use of it, its setting.

The PostgreSQL side (the backend ended, locks released) is in tests/views/test_stall.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.checks import Error

from exports.checks import check_settings
from exports.models import ExportLog
from exports.stream import prepare_export
from exports.watchdog import STALLED, ExportStalled, Watchdog
from exportsite.shop.models import Order
from tests.accounts import make_user
from tests.factories import CustomerFactory, OrderFactory

TICK = 0.2


def test_expires_once_when_left_armed():
    fired = []
    watchdog = Watchdog(TICK, lambda: fired.append(time.monotonic()))
    armed_at = time.monotonic()
    watchdog.arm()

    assert watchdog.handled.wait(5)
    assert len(fired) == 1
    assert fired[0] - armed_at >= TICK
    assert watchdog.disarm() is False
    watchdog.arm()  # an expired watchdog stays expired
    time.sleep(2 * TICK)
    assert len(fired) == 1


def test_only_the_consumers_time_counts():
    fired = threading.Event()
    watchdog = Watchdog(TICK, fired.set)
    for _ in range(6):  # 6 x TICK/2 armed, with long disarmed gaps between
        watchdog.arm()
        time.sleep(TICK / 2)
        assert watchdog.disarm() is True
        time.sleep(TICK)
    watchdog.stop()

    assert not fired.wait(2 * TICK)


def test_stop_before_expiry():
    fired = threading.Event()
    watchdog = Watchdog(TICK, fired.set)
    watchdog.arm()
    watchdog.stop()

    assert not fired.wait(2 * TICK)


@pytest.mark.django_db(transaction=True)
def test_a_stalled_keyset_download_is_ended_and_logged(client, settings):
    """Keyset holds nothing between batches, but the transfer is still ended and logged."""
    settings.EXPORTS = {"CHUNK_SIZE": 5, "CLIENT_STALL_TIMEOUT": TICK, "ENGINE": "keyset"}
    customer = CustomerFactory()
    Order.objects.bulk_create(OrderFactory.build_batch(30, customer=customer))
    client.force_login(make_user("boss", is_superuser=True))
    response = client.get("/exports/shop/order.csv?fields=id")
    chunks = iter(response.streaming_content)
    next(chunks)
    next(chunks)
    deadline = time.monotonic() + 5
    while ExportLog.objects.get().status == "started" and time.monotonic() < deadline:
        time.sleep(0.02)
    log = ExportLog.objects.get()

    with pytest.raises(ExportStalled) as excinfo:
        next(chunks)
    with pytest.raises(StopIteration):
        next(chunks)
    response.close()

    reason = STALLED.format(seconds=TICK)
    assert reason == "client stalled: took no data for 0.2 s, so the export was ended"
    assert (log.status, log.rows, log.error) == ("aborted", 5, reason)
    assert excinfo.value.args == (reason,)
    assert ExportLog.objects.get().error == reason


@pytest.mark.django_db
def test_only_client_paced_exports_carry_the_timeout(settings):
    settings.EXPORTS = {"CLIENT_STALL_TIMEOUT": 12.5}
    queryset = Order.objects.all()

    assert prepare_export(queryset=queryset, client_paced=True).stall_timeout == 12.5
    assert prepare_export(queryset=queryset).stall_timeout is None
    settings.EXPORTS = {"CLIENT_STALL_TIMEOUT": None}
    assert prepare_export(queryset=queryset, client_paced=True).stall_timeout is None


@pytest.mark.parametrize("value", [None, 1, 0.5, 300])
def test_valid_stall_timeouts(settings, value):
    settings.EXPORTS = {"CLIENT_STALL_TIMEOUT": value}

    assert check_settings() == []


@pytest.mark.parametrize("value", [0, -1, "300", True, float("nan")])
def test_bad_stall_timeouts(settings, value):
    settings.EXPORTS = {"CLIENT_STALL_TIMEOUT": value}

    assert check_settings() == [
        Error(
            "settings.EXPORTS['CLIENT_STALL_TIMEOUT'] must be a positive number of seconds "
            f"or None, not {value!r}.",
            hint="The default is 300.",
            id="exports.E008",
        )
    ]
