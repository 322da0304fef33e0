"""Keys bound to locations: ``create_api_key --location``, and what a bound key may do where.

The API's doors (orders, adjust, count) reach the same check through the stock service; their
403 answers are tested with the API."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.actors import Actor
from core.api.models import ApiKey
from orders.models import Order
from orders.services import LineRequest, order_place
from stock.exceptions import LocationNotAllowed
from stock.models import Location, LocationKind, StockLevel, StockMovement
from stock.selectors import location_default
from stock.services import stock_adjust, stock_count


@pytest.fixture
def store(db):
    return Location.objects.create(code="STORE-01", name="Shop", kind=LocationKind.STORE)


@pytest.fixture
def web(db):
    return Location.objects.create(code="WEB", name="Web shop", kind=LocationKind.ONLINE)


def _key(name, *locations):
    call_command(
        "create_api_key",
        name,
        "--scope",
        "stock:write",
        *[arg for location in locations for arg in ("--location", location)],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    api_key = ApiKey.objects.get(name=name)
    return Actor(kind="api_key", name=name, api_key_id=api_key.pk)


def test_create_api_key_binds_the_key_to_each_location_named(store, web):
    err = io.StringIO()
    call_command(
        "create_api_key", "till-1", "--location", "store-01", "--location", "WEB",
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip

    api_key = ApiKey.objects.get(name="till-1")
    assert sorted(api_key.locations.values_list("code", flat=True)) == ["STORE-01", "WEB"]
    assert "bound to STORE-01, WEB" in err.getvalue()


def test_create_api_key_with_an_unknown_or_archived_location_creates_no_key(store):
    with pytest.raises(CommandError, match="No location with code NOPE"):
        _key("till-1", "STORE-01", "nope")
    Location.objects.create(code="OLD", name="Closed", kind=LocationKind.STORE, is_active=False)
    with pytest.raises(CommandError, match="OLD is archived"):
        _key("till-2", "OLD")

    assert not ApiKey.objects.exists()


def test_a_bound_key_changes_stock_at_its_location_and_is_refused_elsewhere(make_product, store):
    variant = make_product(stock={"S-M": 5}).variants.get()
    till = _key("till-1", "STORE-01")
    stock_adjust(variant_id=variant.pk, delta=4, reason="received", actor=till, location=store)

    main = location_default()
    with pytest.raises(LocationNotAllowed) as refused:
        stock_adjust(variant_id=variant.pk, delta=1, reason="received", actor=till, location=main)
    assert refused.value.status_code == 403
    assert refused.value.code == "permission_denied"
    assert refused.value.details == {"location": "MAIN", "allowed_locations": ["STORE-01"]}
    with pytest.raises(LocationNotAllowed):
        stock_count(variant_id=variant.pk, quantity=0, actor=till, location=main)

    levels = StockLevel.objects.filter(variant=variant).order_by("location__code")
    assert list(levels.values_list("location__code", "on_hand", "committed")) == [
        ("MAIN", 5, 0),
        ("STORE-01", 4, 0),
    ]
    assert StockMovement.objects.filter(variant=variant).count() == 2


def test_a_key_bound_to_one_location_acts_there_when_it_names_none(make_product, store):
    variant = make_product(stock={"S-M": 5}).variants.get()
    till = _key("till-1", "STORE-01")
    stock_adjust(variant_id=variant.pk, delta=2, reason="received", actor=till)

    order = order_place(lines=[LineRequest(quantity=1, variant_id=variant.pk)], actor=till)

    assert order.location == store
    level = StockLevel.objects.get(variant=variant, location=store)
    assert (level.on_hand, level.committed) == (2, 1)


def test_a_key_bound_to_several_locations_names_one_or_acts_at_the_default(
    make_product, store, web
):
    variant = make_product(stock={"S-M": 5}).variants.get()
    shops = _key("shops", "STORE-01", "WEB")

    with pytest.raises(LocationNotAllowed):
        order_place(lines=[LineRequest(quantity=1, variant_id=variant.pk)], actor=shops)
    assert not Order.objects.exists()


def test_an_unbound_key_acts_at_any_location(make_product, store):
    variant = make_product(stock={"S-M": 5}).variants.get()
    anywhere = _key("back-office")

    stock_adjust(variant_id=variant.pk, delta=3, reason="received", actor=anywhere, location=store)
    stock_adjust(variant_id=variant.pk, delta=-1, reason="damaged", actor=anywhere)

    assert sorted(
        StockLevel.objects.filter(variant=variant).values_list("location__code", "on_hand")
    ) == [("MAIN", 4), ("STORE-01", 3)]


def test_over_the_api_a_bound_key_gets_403_naming_the_location_elsewhere(make_product, store):
    from rest_framework.test import APIClient

    variant = make_product(stock={"S-M": 5}).variants.get()
    out = io.StringIO()
    call_command(
        "create_api_key", "till-1", "--scope", "orders:write", "--scope", "stock:write",
        "--location", "STORE-01", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip()}")

    placed = till.post(
        "/api/v1/orders/",
        {"lines": [{"variant": variant.pk, "quantity": 1}], "location": "MAIN"},
        format="json",
    )
    adjusted = till.post(
        f"/api/v1/variants/{variant.pk}/adjust/",
        {"delta": 1, "reason": "received", "location": "main"},
        format="json",
    )
    read = till.get(f"/api/v1/stock-levels/?sku={variant.sku}")

    for refused in (placed, adjusted):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
        assert refused.json()["error"]["details"] == {
            "location": "MAIN",
            "allowed_locations": ["STORE-01"],
        }
    assert read.status_code == 200
    assert [row["location"] for row in read.json()["results"]] == ["MAIN"]
    assert not Order.objects.exists()
    assert StockMovement.objects.filter(variant=variant).count() == 1
