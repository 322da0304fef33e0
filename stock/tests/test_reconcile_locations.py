"""reconcile_stock with locations: every level against its movements, every variant's totals
against its levels, and every level's committed units against the open orders there."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Variant
from core.actors import Actor
from core.api.authentication import api_key_actor
from orders.models import Order, OrderLine
from orders.services import LineRequest, order_place, order_transition
from stock.models import Location, LocationKind, StockLevel
from stock.selectors import location_default
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")
OK = "OK: 2 variant(s) at 4 stock level(s), every quantity equals its ledger.\n"


@pytest.fixture
def store() -> Location:
    return Location.objects.create(code="STORE-01", name="Store 01", kind=LocationKind.STORE)


@pytest.fixture
def shop(make_product, shop_key, store):
    """Two variants at MAIN and STORE-01, with orders open at both, and others cancelled,
    fulfilled and returned: every kind of committed unit and its release."""
    product = make_product(stock={"S-M": 5, "L-XL": 2})
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    for variant, units in [(small, 4), (large, 3)]:
        stock_adjust(
            variant_id=variant.pk, delta=units, reason="received", actor=CLERK, location=store
        )
    actor = api_key_actor(shop_key)

    def place(location: Location, *lines: tuple[Variant, int]) -> Order:
        return order_place(
            lines=[LineRequest(variant_id=v.pk, quantity=q) for v, q in lines],
            actor=actor,
            location=location,
        )

    def move(order: Order, *actions: str) -> None:
        for action in actions:
            order_transition(order_id=order.pk, action=action, actor=actor)

    main = location_default()
    placed = place(store, (small, 2), (large, 1))
    paid = place(main, (small, 1))
    move(paid, "pay")
    move(place(store, (small, 1), (large, 1)), "cancel")
    move(place(main, (large, 1)), "pay", "fulfil")
    return {"small": small, "large": large, "placed": placed, "paid": paid, "store": store}


def _reconcile() -> tuple[str, str, str | None]:
    """The command's stdout, stderr, and its error if it failed."""
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile_stock", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), str(error)
    return out.getvalue(), err.getvalue(), None


def test_a_clean_shop_reconciles_with_open_orders_at_two_locations(shop, django_assert_num_queries):
    # Given levels at MAIN and STORE-01 with units committed to open orders at both
    levels = StockLevel.objects.order_by("variant_id", "location__code")
    assert list(levels.values_list("location__code", "on_hand", "committed")) == [
        ("MAIN", 5, 1),
        ("STORE-01", 4, 2),
        ("MAIN", 1, 0),
        ("STORE-01", 3, 1),
    ]

    # When it reconciles: a constant number of queries (a savepoint around them in a test):
    # the levels' drift, the variants' drift, the open orders, the committed levels, the
    # transfers in transit, the incoming levels, the transfers' balance, counts
    with django_assert_num_queries(11):
        out, err, error = _reconcile()

    # Then it says so and exits 0
    assert (out, err, error) == (OK, "", None)


def test_a_level_committed_changed_behind_the_services_back_is_both_drift_and_mismatch(shop):
    # Given a level's committed units written around the stock service
    StockLevel.objects.filter(variant=shop["small"], location=shop["store"]).update(committed=3)

    # When it reconciles
    out, err, error = _reconcile()

    # Then it names the level twice: its ledger says 2, and so do the open orders there
    sku = shop["small"].sku
    assert out == ""
    assert err.splitlines() == [
        f"DRIFT {sku} at STORE-01: on hand 4, movements add up to 4; committed 3, movements "
        "add up to 2",
        f"MISMATCH {sku} at STORE-01: committed 3, open orders hold 2",
    ]
    assert error == (
        "1 drift(s) from the ledger; 1 level(s) whose committed units are not the open orders'."
    )


def test_a_level_on_hand_changed_is_drift(shop):
    # Given a level's units on hand written around the stock service
    StockLevel.objects.filter(variant=shop["large"], location=shop["store"]).update(on_hand=7)

    out, err, error = _reconcile()

    assert out == ""
    assert err.splitlines() == [
        f"DRIFT {shop['large'].sku} at STORE-01: on hand 7, movements add up to 3; committed "
        "1, movements add up to 1"
    ]
    assert error == "1 drift(s) from the ledger."


def test_a_variant_total_changed_is_drift(shop):
    # Given a variant's cached total written around the stock service
    Variant.objects.filter(pk=shop["small"].pk).update(quantity=9)

    out, err, error = _reconcile()

    # (its levels hold 9 on hand, 3 committed: 6 available)
    assert out == ""
    assert err.splitlines() == [
        f"DRIFT {shop['small'].sku}: available 9, committed 3; its movements add up to 6 "
        "available, 3 committed"
    ]
    assert error == "1 drift(s) from the ledger."


def test_an_open_order_whose_units_are_not_committed_is_a_mismatch(shop):
    # Given a cancelled order (its units released) made open again around the order service,
    # and an open order's line grown around it
    cancelled = Order.objects.get(status="cancelled")
    Order.objects.filter(pk=cancelled.pk).update(status="placed", cancelled_at=None)
    OrderLine.objects.filter(order=shop["paid"]).update(quantity=4)

    # When it reconciles
    out, err, error = _reconcile()

    # Then each level names what it holds and what the open orders there hold; the ledger
    # itself is sound
    small, large = shop["small"].sku, shop["large"].sku
    assert out == ""
    assert err.splitlines() == [
        f"MISMATCH {small} at MAIN: committed 1, open orders hold 4",
        f"MISMATCH {small} at STORE-01: committed 2, open orders hold 3",
        f"MISMATCH {large} at STORE-01: committed 1, open orders hold 2",
    ]
    assert error == "3 level(s) whose committed units are not the open orders'."


def test_units_committed_to_no_open_order_are_a_mismatch(shop, store):
    # Given an open order marked fulfilled around the order service (its units still
    # committed), and an open order at a location where its variant has no level
    Order.objects.filter(pk=shop["paid"].pk).update(status="fulfilled", fulfilled_at=timezone.now())
    elsewhere = Location.objects.create(code="WEB", name="Web shop", kind=LocationKind.ONLINE)
    Order.objects.filter(pk=shop["placed"].pk).update(location=elsewhere)

    out, err, error = _reconcile()

    small, large = shop["small"].sku, shop["large"].sku
    assert out == ""
    assert err.splitlines() == [
        f"MISMATCH {small} at MAIN: committed 1, open orders hold 0",
        f"MISMATCH {small} at STORE-01: committed 2, open orders hold 0",
        f"MISMATCH {small} at WEB: committed 0, open orders hold 2",
        f"MISMATCH {large} at STORE-01: committed 1, open orders hold 0",
        f"MISMATCH {large} at WEB: committed 0, open orders hold 1",
    ]
    assert error == "5 level(s) whose committed units are not the open orders'."
