"""The catalog's port to the stock app (catalog/stock_port.py): the stock app fills it when
ready; unfilled, the catalog refuses what needs it rather than guess."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from catalog import services, stock_port
from catalog.models import Variant
from conftest import TEST_ACTOR
from stock.models import Location, LocationKind, StockLevel, StockMovement


@pytest.fixture
def product(make_product):
    return make_product(name="Tee", stock={})


def test_a_new_variant_opens_its_stock_through_the_port(product):
    # Given a shop besides the default location.
    Location.objects.create(code="STORE-1", name="Shop", kind=LocationKind.STORE)

    # When the port resolves a location and the stock app opens the variant's stock there.
    variant = services.variant_create(
        product=product,
        size="S-M",
        quantity=4,
        location=stock_port.location_for_stock("store-1"),
        actor=TEST_ACTOR,
    )

    # Then its units are on hand there, with their initial movement by the actor.
    assert list(StockLevel.objects.values_list("variant", "location__code", "on_hand")) == [
        (variant.pk, "STORE-1", 4)
    ]
    assert list(StockMovement.objects.values_list("reason", "location__code", "actor")) == [
        ("initial", "STORE-1", TEST_ACTOR.name)
    ]


def test_without_an_opener_a_new_variant_with_stock_is_refused_and_nothing_written(
    product, monkeypatch
):
    monkeypatch.setattr(stock_port, "_opener", None)

    with pytest.raises(ImproperlyConfigured, match="No stock opener"):
        services.variant_create(product=product, size="S-M", quantity=3, actor=TEST_ACTOR)

    assert not Variant.objects.filter(product=product).exists()


def test_without_a_resolver_a_location_code_is_refused(monkeypatch):
    monkeypatch.setattr(stock_port, "_resolver", None)

    with pytest.raises(ImproperlyConfigured, match="No location resolver"):
        stock_port.location_for_stock("MAIN")


def test_the_stock_app_opens_stock_only_at_a_location_of_its_own(product):
    class Elsewhere:
        pk = 1
        code = "MAIN"

    with pytest.raises(TypeError, match="Not a stock location"):
        services.variant_create(
            product=product, size="S-M", quantity=3, location=Elsewhere(), actor=TEST_ACTOR
        )

    assert not Variant.objects.filter(product=product).exists()
