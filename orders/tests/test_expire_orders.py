"""``expire_orders --older-than AGE`` (cron): cancels the orders still unpaid after AGE through the
order service, so their stock comes back through the ledger in the command's name; it touches no
other order, names what it cancelled, does nothing the second time, and refuses a bad age."""

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Product, Variant
from conftest import PlaceOrder
from core.actors import Actor, system_actor
from orders import services
from orders.models import Order, OrderStatus
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 10, "L-XL": 5})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


@pytest.fixture
def large(tee: Product) -> Variant:
    return tee.variants.get(size="L-XL")


def _placed_ago(order: Order, age: timedelta) -> Order:
    """Pretend the order was placed ``age`` ago (orders, unlike the ledger, may be updated)."""
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)
    order.refresh_from_db()
    return order


def _move(order: Order, *actions: str) -> Order:
    for action in actions:
        services.order_transition(order_id=order.pk, action=action, actor=ACTOR)
    order.refresh_from_db()
    return order


def _expire(age: str) -> str:
    out = StringIO()
    call_command("expire_orders", "--older-than", age, stdout=out)
    return out.getvalue()


def _orders() -> dict[str, tuple[Any, ...]]:
    return {
        row[0]: row[1:]
        for row in Order.objects.values_list(
            "number", "status", "total", "paid_at", "fulfilled_at", "cancelled_at", "updated_at"
        )
    }


def _everything() -> dict[str, Any]:
    """All that expiring could change."""
    return {
        "orders": _orders(),
        "variants": dict(Variant.objects.values_list("sku", "quantity")),
        "ledger": list(StockMovement.objects.order_by("id").values_list("id", "delta")),
    }


def _reconciles() -> str:
    out = StringIO()
    call_command("reconcile_stock", stdout=out)  # raises CommandError on any drift
    return out.getvalue()


@pytest.fixture
def orders(place_order: PlaceOrder, small: Variant, large: Variant) -> dict[str, Order]:
    """Orders of every kind, old and new. The tee starts with 10 S-M and 5 L-XL."""
    hours_ago = timedelta(hours=2)
    return {
        "unpaid for days": _placed_ago(place_order((small, 2), (large, 1)), timedelta(days=3)),
        "unpaid for 45 minutes": _placed_ago(place_order((small, 1)), timedelta(minutes=45)),
        "unpaid for 29 minutes": _placed_ago(place_order((small, 1)), timedelta(minutes=29)),
        "just placed": place_order((large, 1)),
        "paid": _placed_ago(_move(place_order((small, 1)), "pay"), hours_ago),
        "fulfilled": _placed_ago(_move(place_order((small, 1)), "pay", "fulfil"), hours_ago),
        "cancelled": _placed_ago(_move(place_order((large, 1)), "cancel"), hours_ago),
    }


EXPIRED = ["unpaid for days", "unpaid for 45 minutes"]


def test_expire_cancels_only_unpaid_orders_older_than_the_age_and_restocks_them(
    orders: dict[str, Order], small: Variant, large: Variant
) -> None:
    before = _everything()
    assert before["variants"] == {small.sku: 10 - 2 - 1 - 1 - 1 - 1, large.sku: 5 - 1 - 1}
    expired = [orders[name] for name in EXPIRED]

    start = timezone.now()
    output = _expire("30m")

    assert output == (
        f"Cancelled 2 unpaid order(s) older than 30m: {expired[0].number}, {expired[1].number}\n"
    )
    for order in expired:
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        assert order.cancelled_at is not None
        assert start <= order.cancelled_at <= timezone.now()
        assert order.paid_at is None
    after = _orders()
    for name, order in orders.items():
        if name not in EXPIRED:
            assert after[order.number] == before["orders"][order.number], name
    # Every line of the expired orders is released (the units never left the shelf) and for
    # sale again, through the ledger, in the command's name; nothing else moved.
    assert dict(Variant.objects.values_list("sku", "quantity")) == {
        small.sku: before["variants"][small.sku] + 2 + 1,
        large.sku: before["variants"][large.sku] + 1,
    }
    new_movements = StockMovement.objects.exclude(
        pk__in=[pk for pk, _ in before["ledger"]]
    ).order_by("reference", "variant_id")
    rows: list[tuple[Any, ...]] = list(
        new_movements.values_list(
            "reference",
            "variant",
            "delta",
            "committed_delta",
            "reason",
            "actor_kind",
            "actor",
            "user",
            "api_key",
        )
    )
    by_the_command = ("order_cancelled", "system", "expire_orders", None, None)
    assert rows == sorted(
        [
            (expired[0].number, small.pk, 0, -2, *by_the_command),
            (expired[0].number, large.pk, 0, -1, *by_the_command),
            (expired[1].number, small.pk, 0, -1, *by_the_command),
        ]
    )
    # What is still committed: "unpaid for 29 minutes", "paid" (small); "just placed" (large).
    assert dict(Variant.objects.values_list("sku", "committed")) == {small.sku: 2, large.sku: 1}
    assert (
        _reconciles() == "OK: 2 variant(s) at 2 stock level(s), every quantity equals its ledger.\n"
    )


def test_expiring_again_changes_nothing(orders: dict[str, Order]) -> None:
    _expire("30m")
    once = _everything()

    output = _expire("30m")

    assert output == "Cancelled 0 unpaid order(s) older than 30m.\n"
    assert _everything() == once
    assert _reconciles().startswith("OK: ")


@pytest.fixture
def unpaid(place_order: PlaceOrder, small: Variant) -> dict[str, Order]:
    """Unpaid orders of different ages."""
    return {
        "50s": _placed_ago(place_order((small, 1)), timedelta(seconds=50)),
        "45m": _placed_ago(place_order((small, 1)), timedelta(minutes=45)),
        "3h": _placed_ago(place_order((small, 1)), timedelta(hours=3)),
        "2d": _placed_ago(place_order((small, 1)), timedelta(days=2)),
        "now": place_order((small, 1)),
    }


@pytest.mark.parametrize(
    ("age", "expired"),
    [
        ("45s", ["50s", "45m", "3h", "2d"]),
        ("30m", ["45m", "3h", "2d"]),
        ("2h", ["3h", "2d"]),
        ("2H", ["3h", "2d"]),
        ("1d", ["2d"]),
        ("3d", []),
    ],
)
def test_ages_in_seconds_minutes_hours_and_days(
    unpaid: dict[str, Order], small: Variant, age: str, expired: list[str]
) -> None:
    output = _expire(age)

    assert {o.number for o in Order.objects.filter(status=OrderStatus.CANCELLED)} == {
        unpaid[name].number for name in expired
    }
    assert f"Cancelled {len(expired)} unpaid order(s) older than {age}" in output
    for name in expired:
        assert unpaid[name].number in output
    small.refresh_from_db()
    assert small.quantity == 10 - len(unpaid) + len(expired)


@pytest.mark.parametrize("age", ["0m", "0d", "abc", "30x", "30", "m", "", "-5m", "1.5h", " 30m"])
def test_a_bad_age_is_refused_and_changes_nothing(orders: dict[str, Order], age: str) -> None:
    before = _everything()

    with pytest.raises(CommandError, match=r"is not an age like 30m, 2h or 1d\."):
        # One argument, so that "-5m" is taken as the age and not as an option.
        call_command("expire_orders", f"--older-than={age}", stdout=StringIO())

    assert _everything() == before


def test_the_age_is_required(orders: dict[str, Order]) -> None:
    before = _everything()

    with pytest.raises(CommandError, match="the following arguments are required: --older-than"):
        call_command("expire_orders", stdout=StringIO())

    assert _everything() == before


@pytest.mark.parametrize("age", ["1000000d", "99999999999d"])
def test_an_age_out_of_range_is_refused(orders: dict[str, Order], age: str) -> None:
    before = _everything()

    with pytest.raises(CommandError):
        _expire(age)

    assert _everything() == before


def test_an_order_paid_while_expiring_runs_is_left_paid(
    orders: dict[str, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    oldest, other = (orders[name] for name in EXPIRED)
    transition = services.order_transition

    def paid_meanwhile(*, order_id: int, action: str, actor: Actor, **kwargs: Any) -> Order:
        """The shop's payment of the other order lands while the first one is expired."""
        if order_id == oldest.pk:
            transition(order_id=other.pk, action="pay", actor=ACTOR)
        return transition(order_id=order_id, action=action, actor=actor, **kwargs)

    monkeypatch.setattr(services, "order_transition", paid_meanwhile)

    output = _expire("30m")

    assert output == f"Cancelled 1 unpaid order(s) older than 30m: {oldest.number}\n"
    oldest.refresh_from_db()
    other.refresh_from_db()
    assert (oldest.status, other.status) == (OrderStatus.CANCELLED, OrderStatus.PAID)
    assert not StockMovement.objects.filter(reference=other.number, reason="order_cancelled")
    assert _reconciles().startswith("OK: ")
