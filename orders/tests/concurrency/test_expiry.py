"""The expiry racing with a payment: the order ends paid or cancelled, never both."""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from catalog.tests.support import JOIN_TIMEOUT, race
from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.tests.concurrency.support import (
    MakeProduct,
    _client_app,
    _movements,
    _place,
    _quantities,
    _unexpected,
    _variant_ids,
)
from stock.models import MovementReason

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _waited_on_by_another_transaction(deadline: float, done: threading.Event) -> None:
    """Return once another session waits for a lock this one holds (or ``done`` is set, or
    the deadline passes)."""
    while time.monotonic() < deadline and not done.is_set():
        with connection.cursor() as cursor:
            # pg_stat_activity is a snapshot per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            [(waiting,)] = cursor.fetchall()
        if waiting:
            return
        time.sleep(0.01)


def test_an_order_paid_while_the_expiry_runs_ends_paid_or_cancelled_never_both(
    make_product: MakeProduct,
) -> None:
    # Given an order placed an hour ago and still unpaid
    a, b = _variant_ids(make_product, S_M=5, L_XL=5)
    actor, _ = _client_app("web-shop")
    order = _place(actor, [(a, 2), (b, 1)])
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    paying, expired = threading.Event(), threading.Event()

    def pay() -> Order:
        # The payment is under way (its transaction open, the order locked) when the expiry
        # lists the unpaid orders, and commits while the expiry waits for the order's lock.
        with transaction.atomic():
            paid = order_transition(order_id=order.pk, action="pay", actor=actor)
            paying.set()
            _waited_on_by_another_transaction(time.monotonic() + JOIN_TIMEOUT / 2, expired)
        return paid

    def expire() -> str:
        paying.wait(JOIN_TIMEOUT / 2)
        out = StringIO()
        try:
            call_command("expire_orders", "--older-than", "30m", stdout=out)
        finally:
            expired.set()
        return out.getvalue()

    # When the customer pays while expire_orders runs
    paid, report = race([pay, expire])

    # Then the payment went through, and the order is paid, not cancelled as well
    assert not _unexpected([paid, report]), (paid, report)
    assert isinstance(paid, Order)
    order.refresh_from_db()
    assert (order.status, order.paid_at is not None, order.cancelled_at) == (
        OrderStatus.PAID,
        True,
        None,
    )
    assert order.number not in report
    # and its stock stays sold: nothing was given back
    assert _movements(MovementReason.ORDER_CANCELLED, [a, b]) == []
    assert _quantities([a, b]) == {a: 3, b: 4}
