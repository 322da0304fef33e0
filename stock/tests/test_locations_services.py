"""The stock service at several locations: each change happens at one location (the default one
unless given), on hand and committed units are kept apart, and what is committed to open orders
is never adjusted or counted away; an archived location takes no change; the default location
comes back when its table is emptied."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from core.actors import Actor
from orders.services import LineRequest
from stock.exceptions import InsufficientStock, StockCountMismatch
from stock.ledger import StockChange
from stock.models import Location, LocationKind, MovementReason
from stock.selectors import location_default, location_for_stock
from stock.services import stock_adjust, stock_apply, stock_count, stock_sell
from stock.tests.api_support import adjust_url
from stock.tests.location_support import everything, last_movement_id, levels, movements, totals

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")


def _commit(variant, units, location=None):
    """Commit ``units`` to an open order, as placing one does (``orders.services.order_place``)."""
    stock_apply(
        changes=[StockChange(variant_id=variant.pk, delta=0, committed=units)],
        location=location,
        reason=MovementReason.ORDER_PLACED,
        actor=CLERK,
        reference="SO-TEST",
    )


def _short(variant, *, location, requested, available):
    return {
        "variant": variant.pk,
        "sku": variant.sku,
        "location": location,
        "requested": requested,
        "available": available,
    }


# Where a change happens


def test_a_change_happens_at_the_given_location_or_at_the_default(variant, main, store):
    # Given 5 of the tee at MAIN, its opening stock
    sku = variant.sku
    assert levels() == {(sku, "MAIN"): (5, 0)}
    start = last_movement_id()

    stock_adjust(
        variant_id=variant.pk,
        delta=4,
        reason="received",
        actor=CLERK,
        location=store,
        reference="DN-1",
    )
    stock_adjust(variant_id=variant.pk, delta=-1, reason="damaged", actor=CLERK)

    assert levels() == {(sku, "MAIN"): (4, 0), (sku, "STORE-01"): (4, 0)}
    assert totals(variant) == {sku: (8, 0)}
    assert movements(start) == [
        (sku, "received", 4, 0, 4, 0, "STORE-01", "DN-1"),
        (sku, "damaged", -1, 0, 4, 0, "MAIN", ""),
    ]


@pytest.mark.parametrize(
    ("where", "code", "after"),
    [("store", "STORE-01", (4, 3)), (None, "MAIN", (5, 3))],
    ids=["at-the-given-location", "at-the-default"],
)
def test_a_sale_commits_its_units_where_it_is_placed(
    request, variant, main, store, where, code, after
):
    stock_adjust(variant_id=variant.pk, delta=4, reason="received", actor=CLERK, location=store)
    location = request.getfixturevalue(where) if where else None
    start = last_movement_id()
    seen = []

    def record_sale(variants, at):
        seen.append(at.code)
        return "SO-1"

    with transaction.atomic():
        stock_sell(
            lines=[LineRequest(variant_id=variant.pk, quantity=3)],
            actor=CLERK,
            record_sale=record_sale,
            location=location,
        )

    assert seen == [code]
    untouched = {"MAIN": (5, 0), "STORE-01": (4, 0)}
    assert levels() == {
        **{(variant.sku, c): v for c, v in untouched.items()},
        (variant.sku, code): after,
    }
    # Committed, still on the shelf: 9 on hand, 6 of them for sale.
    assert totals(variant) == {variant.sku: (6, 3)}
    assert movements(start) == [(variant.sku, "order_placed", 0, 3, after[0], 3, code, "SO-1")]


def test_a_till_sale_takes_its_units_off_the_shelf_at_once(variant, main):
    _commit(variant, 1)
    start = last_movement_id()

    with transaction.atomic():
        stock_sell(
            lines=[LineRequest(variant_id=variant.pk, quantity=2)],
            actor=CLERK,
            record_sale=lambda variants, at: "SO-TILL",
            fulfil=True,
        )

    # What was committed before stays committed.
    assert levels() == {(variant.sku, "MAIN"): (3, 1)}
    assert totals(variant) == {variant.sku: (2, 1)}
    assert movements(start) == [(variant.sku, "sale", -2, 0, 3, 1, "MAIN", "SO-TILL")]


def test_stock_at_one_location_never_covers_a_change_at_another(variant, main, store):
    # Given 5 at MAIN and none at the shop
    before = everything()

    with pytest.raises(InsufficientStock) as error:
        stock_adjust(variant_id=variant.pk, delta=-1, reason="lost", actor=CLERK, location=store)

    assert error.value.message == "Not enough stock at STORE-01; nothing was changed."
    assert error.value.details == {
        "location": "STORE-01",
        "lines": [_short(variant, location="STORE-01", requested=1, available=0)],
    }
    assert everything() == before


# Committed units are not adjusted or counted away


def test_an_adjustment_never_takes_committed_units(variant, main):
    # Given 5 on hand, 3 of them committed to an open order: 2 available
    _commit(variant, 3)
    before = everything()

    with pytest.raises(InsufficientStock) as error:
        stock_adjust(variant_id=variant.pk, delta=-3, reason="damaged", actor=CLERK)

    assert error.value.details == {
        "location": "MAIN",
        "lines": [_short(variant, location="MAIN", requested=3, available=2)],
    }
    assert everything() == before

    start = last_movement_id()
    stock_adjust(variant_id=variant.pk, delta=-2, reason="damaged", actor=CLERK)
    assert levels() == {(variant.sku, "MAIN"): (3, 3)}
    assert totals(variant) == {variant.sku: (0, 3)}
    assert movements(start) == [(variant.sku, "damaged", -2, 0, 3, 3, "MAIN", "")]


def test_an_adjustment_over_the_api_that_would_take_committed_units_is_a_conflict(
    stock_client, variant, main
):
    _commit(variant, 3)
    before = everything()

    response = stock_client.post(
        adjust_url(variant), {"delta": -3, "reason": "damaged"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "insufficient_stock",
            "message": "Not enough stock at MAIN; nothing was changed.",
            "details": {
                "location": "MAIN",
                "lines": [_short(variant, location="MAIN", requested=3, available=2)],
            },
        }
    }
    assert everything() == before


def test_a_count_sets_the_units_on_hand_committed_ones_included(variant, main):
    # Given 5 on hand, 3 of them committed: the shelf holds all 5
    _commit(variant, 3)
    start = last_movement_id()

    stock_count(variant_id=variant.pk, quantity=4, actor=CLERK)
    assert levels() == {(variant.sku, "MAIN"): (4, 3)}
    assert totals(variant) == {variant.sku: (1, 3)}

    stock_count(variant_id=variant.pk, quantity=7, expected_quantity=4, actor=CLERK)
    assert levels() == {(variant.sku, "MAIN"): (7, 3)}
    assert totals(variant) == {variant.sku: (4, 3)}
    assert movements(start) == [
        (variant.sku, "count_correction", -1, 0, 4, 3, "MAIN", ""),
        (variant.sku, "count_correction", 3, 0, 7, 3, "MAIN", ""),
    ]


def test_a_count_below_the_committed_units_is_refused(variant, main):
    _commit(variant, 3)
    before = everything()

    with pytest.raises(InsufficientStock) as error:
        stock_count(variant_id=variant.pk, quantity=2, actor=CLERK)

    assert error.value.message == (
        "3 units at MAIN are committed to open orders: a count of 2 needs some of them "
        "cancelled first. Nothing was changed."
    )
    assert error.value.details == {
        "location": "MAIN",
        "lines": [_short(variant, location="MAIN", requested=3, available=2)],
    }
    assert everything() == before

    # As many as are committed is a count the shelf can hold: none left for sale.
    stock_count(variant_id=variant.pk, quantity=3, actor=CLERK)
    assert levels() == {(variant.sku, "MAIN"): (3, 3)}
    assert totals(variant) == {variant.sku: (0, 3)}


def test_a_count_expects_what_is_on_hand_at_its_location(variant, main, store):
    # Given 5 on hand at MAIN (3 committed, 2 available) and 4 at the shop: 9 on hand in all
    stock_adjust(variant_id=variant.pk, delta=4, reason="received", actor=CLERK, location=store)
    _commit(variant, 3)
    before = everything()

    # Neither what is available there, nor what is on hand everywhere, is what was counted
    # against.
    with pytest.raises(StockCountMismatch) as at_main:
        stock_count(variant_id=variant.pk, quantity=5, expected_quantity=2, actor=CLERK)
    with pytest.raises(StockCountMismatch) as at_store:
        stock_count(
            variant_id=variant.pk, quantity=6, expected_quantity=9, actor=CLERK, location=store
        )

    assert at_main.value.details == {"location": "MAIN", "expected_quantity": 2, "quantity": 5}
    assert at_store.value.details == {
        "location": "STORE-01",
        "expected_quantity": 9,
        "quantity": 4,
    }
    assert everything() == before

    start = last_movement_id()
    stock_count(variant_id=variant.pk, quantity=6, expected_quantity=4, actor=CLERK, location=store)
    assert levels() == {(variant.sku, "MAIN"): (5, 3), (variant.sku, "STORE-01"): (6, 0)}
    assert totals(variant) == {variant.sku: (8, 3)}
    assert movements(start) == [(variant.sku, "count_correction", 2, 0, 6, 0, "STORE-01", "")]


# Archived locations and the default


def _sell_one(variant, location):
    with transaction.atomic():
        stock_sell(
            lines=[LineRequest(variant_id=variant.pk, quantity=1)],
            actor=CLERK,
            record_sale=lambda variants, at: "SO-1",
            location=location,
        )


@pytest.mark.parametrize(
    "change",
    [
        lambda v, at: stock_adjust(
            variant_id=v.pk, delta=1, reason="received", actor=CLERK, location=at
        ),
        lambda v, at: stock_count(variant_id=v.pk, quantity=1, actor=CLERK, location=at),
        lambda v, at: stock_apply(
            changes=[StockChange(variant_id=v.pk, delta=1)],
            reason="returned",
            actor=CLERK,
            location=at,
        ),
        _sell_one,
    ],
    ids=["adjust", "count", "apply", "sell"],
)
def test_an_archived_location_takes_no_change(variant, archived, change):
    before = everything()

    with pytest.raises(ValidationError) as error:
        change(variant, archived)

    assert error.value.message_dict == {"location": ["STORE-02 is archived and holds no stock."]}
    assert everything() == before


def test_a_location_for_stock_is_an_active_one_by_its_code(main, store, archived):
    assert location_for_stock(" store-01 ") == store
    assert location_for_stock(None) == location_for_stock("") == main
    with pytest.raises(ValidationError) as unknown:
        location_for_stock("nowhere")
    with pytest.raises(ValidationError) as closed:
        location_for_stock("STORE-02")
    assert unknown.value.message_dict == {"location": ["No location with code 'NOWHERE'."]}
    assert closed.value.message_dict == {"location": ["STORE-02 is archived and holds no stock."]}


# A transaction of its own, as a flush of the whole database (a test's, the demo's reset) runs;
# serialized_rollback, as the project's other transactional tests, restores the migrations'
# data (MAIN among it) for the tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_default_location_comes_back_after_its_table_is_emptied():
    # Given no location at all (none holds stock or history yet, so all can go)
    Location.objects.all().delete()

    first = location_default()
    again = location_default()

    assert (first.code, first.name, first.kind, first.is_default, first.is_active) == (
        "MAIN",
        "Main stock",
        LocationKind.WAREHOUSE,
        True,
        True,
    )
    assert again.pk == first.pk
    assert list(Location.objects.values_list("code", "is_default")) == [("MAIN", True)]
