"""A level's settings and stock changes at once (PostgreSQL, threads released together by a
barrier): the first write at a location where the variant has no level makes exactly one level,
whichever of them comes first, and no write loses another's."""

import functools

import pytest

from catalog.tests.support import race
from stock.locations import location_create
from stock.models import StockLevel
from stock.services import stock_adjust, stock_level_settings_set
from stock.tests.concurrency_support import ACTOR

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 6


def test_settings_and_deliveries_racing_to_make_a_level_make_one(make_product):
    # Given a variant with no level at the shop yet
    shop = location_create(code="SHOP-1", name="Shop", kind="store")
    variant = make_product(stock={"S-M": 5}).variants.get()

    # When three set its threshold and target there while three deliver units there
    settings = functools.partial(
        stock_level_settings_set,
        variant=variant,
        location=shop,
        low_stock_threshold=2,
        target=9,
        actor=ACTOR,
    )
    delivery = functools.partial(
        stock_adjust,
        variant_id=variant.pk,
        delta=1,
        reason="received",
        actor=ACTOR,
        location=shop,
    )
    outcomes = race([settings, delivery] * (THREADS // 2))

    # Then every call succeeded, and the one level holds both the settings and every unit
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    level = StockLevel.objects.get(variant=variant, location=shop)
    assert (level.on_hand, level.low_stock_threshold, level.target) == (THREADS // 2, 2, 9)
