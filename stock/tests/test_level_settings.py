"""A level's own low-stock threshold and target (par level): the service, its defaults (the
variant's threshold; the threshold + 1), the database's rules, and
``PUT /api/v1/variants/{id}/levels/{location}/`` with its validation, bound keys, idempotency and
query count; the reads that show them (stock levels, a variant's levels, low stock at a
location)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from core.actors import Actor, system_actor
from core.api.models import ApiKey
from core.api.services import api_key_create
from stock.exceptions import LocationNotAllowed
from stock.models import StockLevel, StockMovement
from stock.selectors import low_stock_levels
from stock.services import stock_adjust, stock_level_settings_set

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
NOTHING_SET = {"low_stock_threshold": None, "target": None}


def url(variant, code="STORE-01"):
    return f"/api/v1/variants/{variant.pk}/levels/{code}/"


def _settings(variant, location):
    return (
        StockLevel.objects.filter(variant=variant, location=location)
        .values_list("low_stock_threshold", "target")
        .first()
    )


def _bound_client(*locations):
    api_key, raw = api_key_create(name="till-1", scopes=["stock:write"])
    for location in locations:
        location.api_keys.add(api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


# The service


def test_settings_create_the_empty_level_and_move_no_stock(variant, store):
    level = stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=3, target=8, actor=ACTOR
    )
    assert (level.on_hand, level.committed, level.low_stock_threshold, level.target) == (0, 0, 3, 8)
    assert _settings(variant, store) == (3, 8)
    assert (level.effective_low_stock_threshold, level.effective_target, level.is_low) == (
        3,
        8,
        True,
    )
    assert not StockMovement.objects.filter(location=store).exists()


def test_without_settings_the_variant_s_threshold_and_one_more_apply(variant, main):
    level = StockLevel.objects.select_related("variant").get(variant=variant, location=main)
    assert (level.low_stock_threshold, level.target) == (None, None)
    assert (level.effective_low_stock_threshold, level.effective_target) == (2, 3)
    # Only the target set: the variant's threshold still applies.
    level = stock_level_settings_set(
        variant=variant, location=main, low_stock_threshold=None, target=10, actor=ACTOR
    )
    assert (level.effective_low_stock_threshold, level.effective_target) == (2, 10)
    # Only the threshold set: the target follows it.
    level = stock_level_settings_set(
        variant=variant, location=main, low_stock_threshold=6, target=None, actor=ACTOR
    )
    assert (level.effective_low_stock_threshold, level.effective_target, level.is_low) == (
        6,
        7,
        True,  # 5 available
    )


def test_null_clears_the_settings(variant, store):
    stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=3, target=8, actor=ACTOR
    )
    level = stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=None, target=None, actor=ACTOR
    )
    assert _settings(variant, store) == (None, None)
    assert (level.effective_low_stock_threshold, level.effective_target) == (2, 3)


@pytest.mark.parametrize(
    ("threshold", "target", "message"),
    [
        (5, 5, "The target must be above this level's low-stock threshold (5)"),
        (5, 4, "The target must be above this level's low-stock threshold (5)"),
        (None, 2, "The target must be above the variant's low-stock threshold (2)"),
    ],
)
def test_a_target_at_or_below_the_threshold_is_refused(variant, store, threshold, target, message):
    with pytest.raises(ValidationError) as error:
        stock_level_settings_set(
            variant=variant,
            location=store,
            low_stock_threshold=threshold,
            target=target,
            actor=ACTOR,
        )
    assert error.value.message_dict["target"][0].startswith(message)
    assert not StockLevel.objects.filter(location=store).exists()


@pytest.mark.parametrize(
    ("threshold", "target", "field"),
    [(-1, None, "low_stock_threshold"), (None, 0, "target"), (1, 1_000_001, "target")],
)
def test_out_of_range_values_are_refused(variant, store, threshold, target, field):
    with pytest.raises(ValidationError) as error:
        stock_level_settings_set(
            variant=variant,
            location=store,
            low_stock_threshold=threshold,
            target=target,
            actor=ACTOR,
        )
    assert list(error.value.message_dict) == [field]


def test_setting_the_same_values_again_writes_nothing(variant, store, django_assert_num_queries):
    stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=3, target=8, actor=ACTOR
    )
    before = StockLevel.objects.get(variant=variant, location=store).updated_at
    # The savepoint, the location, the variant's lock, its level; no UPDATE.
    with django_assert_num_queries(5):
        stock_level_settings_set(
            variant=variant, location=store, low_stock_threshold=3, target=8, actor=ACTOR
        )
    assert StockLevel.objects.get(variant=variant, location=store).updated_at == before


def test_clearing_where_there_is_no_level_makes_none(variant, store):
    stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=None, target=None, actor=ACTOR
    )
    assert not StockLevel.objects.filter(location=store).exists()


def test_an_archived_location_takes_no_settings(variant, archived):
    with pytest.raises(ValidationError) as error:
        stock_level_settings_set(
            variant=variant, location=archived, low_stock_threshold=1, target=4, actor=ACTOR
        )
    assert error.value.message_dict == {"location": ["STORE-02 is archived and holds no stock."]}


def test_a_bound_key_sets_them_only_at_its_own_locations(variant, main, store):
    api_key, _ = api_key_create(name="till-1", scopes=["stock:write"])
    store.api_keys.add(api_key)
    till = Actor(kind="api_key", name="till-1", api_key_id=api_key.pk)
    with pytest.raises(LocationNotAllowed):
        stock_level_settings_set(
            variant=variant, location=main, low_stock_threshold=1, target=4, actor=till
        )
    assert _settings(variant, main) == (None, None)
    stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=1, target=4, actor=till
    )
    assert _settings(variant, store) == (1, 4)


@pytest.mark.parametrize(
    ("threshold", "target", "constraint"),
    [
        (-1, None, "stock_level_threshold_not_negative"),
        (None, 0, "stock_level_target_positive"),
        (4, 4, "stock_level_target_above_threshold"),
    ],
)
def test_the_database_holds_the_rules(variant, main, threshold, target, constraint):
    level = StockLevel.objects.get(variant=variant, location=main)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(low_stock_threshold=threshold, target=target)


def test_low_stock_levels_use_the_threshold_that_applies(variant, main, store):
    stock_adjust(variant_id=variant.pk, delta=6, reason="received", actor=ACTOR, location=store)
    assert list(low_stock_levels()) == []  # 5 at MAIN, 6 at the shop; the variant's is 2
    stock_level_settings_set(
        variant=variant, location=store, low_stock_threshold=6, target=12, actor=ACTOR
    )
    assert [level.location.code for level in low_stock_levels()] == ["STORE-01"]


# The API


@pytest.fixture
def shop_level(variant, store):
    """The variant (5 at MAIN, threshold 2) with 4 units at the shop."""
    stock_adjust(variant_id=variant.pk, delta=4, reason="received", actor=ACTOR, location=store)
    return variant


def _level_json(variant, code, on_hand, threshold, target, settings):
    return {
        "variant": variant.pk,
        "sku": variant.sku,
        "product": variant.product_id,
        "size": variant.size,
        "location": code,
        "on_hand": on_hand,
        "committed": 0,
        "available": on_hand,
        "incoming": 0,
        "low_stock_threshold": threshold,
        "target": target,
        "low_stock": on_hand <= threshold,
        "settings": settings,
    }


def test_put_sets_both_and_answers_the_level(stock_client, shop_level):
    response = stock_client.put(
        url(shop_level, "store-01"), {"low_stock_threshold": 4, "target": 10}, format="json"
    )
    assert response.status_code == 200, response.json()
    settings = {"low_stock_threshold": 4, "target": 10}
    assert response.json() == _level_json(shop_level, "STORE-01", 4, 4, 10, settings)
    # The reads show them: the level, the variant's levels, low stock at the shop.
    levels = stock_client.get("/api/v1/stock-levels/", {"location": "STORE-01"}).json()
    assert levels["results"] == [response.json()]
    low = stock_client.get("/api/v1/stock-levels/", {"low_stock": "true"}).json()["results"]
    assert [row["location"] for row in low] == ["STORE-01"]
    detail = stock_client.get(f"/api/v1/variants/{shop_level.pk}/").json()["levels"]
    assert detail == [
        {"location": "MAIN", "on_hand": 5, "committed": 0, "available": 5, "incoming": 0,
         "low_stock_threshold": 2, "target": 3, "low_stock": False, "settings": NOTHING_SET},
        {"location": "STORE-01", "on_hand": 4, "committed": 0, "available": 4, "incoming": 0,
         "low_stock_threshold": 4, "target": 10, "low_stock": True, "settings": settings},
    ]  # fmt: skip
    at_shop = stock_client.get(f"/api/v1/variants/{shop_level.pk}/", {"location": "STORE-01"})
    assert at_shop.json()["low_stock"] is True
    at_main = stock_client.get(f"/api/v1/variants/{shop_level.pk}/", {"location": "MAIN"})
    assert at_main.json()["low_stock"] is False


def test_the_catalog_s_low_stock_at_a_location_follows_the_level(stock_client, shop_level):
    product = f"/api/v1/products/{shop_level.product_id}/"
    assert (
        stock_client.get(product, {"location": "STORE-01"}).json()["variants"][0]["low_stock"]
        is False
    )
    stock_client.put(url(shop_level), {"low_stock_threshold": 4, "target": None}, format="json")
    listed = stock_client.get("/api/v1/products/", {"location": "STORE-01"}).json()
    assert listed["results"][0]["variants"][0]["low_stock"] is True
    filtered = stock_client.get(
        "/api/v1/variants/", {"location": "STORE-01", "low_stock": "true"}
    ).json()
    assert [row["id"] for row in filtered["results"]] == [shop_level.pk]


def test_put_nulls_clear_them(stock_client, shop_level):
    stock_client.put(url(shop_level), {"low_stock_threshold": 4, "target": 10}, format="json")
    response = stock_client.put(
        url(shop_level), {"low_stock_threshold": None, "target": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == _level_json(shop_level, "STORE-01", 4, 2, 3, NOTHING_SET)


def _invalid(response, details):
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "The request is not valid; see details for the fields at fault.",
        "details": details,
    }


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"low_stock_threshold": ["This field is required."],
              "target": ["This field is required."]}),
        ({"low_stock_threshold": -1, "target": None},
         {"low_stock_threshold": ["Ensure this value is greater than or equal to 0."]}),
        ({"low_stock_threshold": None, "target": 0},
         {"target": ["Ensure this value is greater than or equal to 1."]}),
        ({"low_stock_threshold": "3", "target": None},
         {"low_stock_threshold": ["Expected a whole number; got a string."]}),
        ({"low_stock_threshold": 3, "target": 3},
         {"target": ["The target must be above this level's low-stock threshold (3): at or "
                     "below it, the level would still be low once replenished."]}),
        ({"low_stock_threshold": None, "target": 1, "on_hand": 9},
         {"on_hand": ["Stock changes through POST /api/v1/variants/{id}/adjust/ or /count/."]}),
    ],
)  # fmt: skip
def test_bad_values_are_refused_by_field_and_change_nothing(stock_client, shop_level, store,
                                                              body, details):  # fmt: skip
    _invalid(stock_client.put(url(shop_level), body, format="json"), details)
    assert _settings(shop_level, store) == (None, None)


def test_an_unknown_location_or_variant_is_404_and_an_archived_one_400(
    stock_client, shop_level, archived
):
    body = {"low_stock_threshold": 1, "target": 5}
    response = stock_client.put(url(shop_level, "NOWHERE"), body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No location with code NOWHERE."
    missing = stock_client.put("/api/v1/variants/999999/levels/MAIN/", body, format="json")
    assert missing.status_code == 404
    _invalid(
        stock_client.put(url(shop_level, "STORE-02"), body, format="json"),
        {"location": ["STORE-02 is archived and holds no stock."]},
    )


def test_who_may_set_them(key_client, shop_level, store, main):
    body = {"low_stock_threshold": 1, "target": 5}
    response = key_client().put(url(shop_level), body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key lacks the scope stock:write."
    assert APIClient().put(url(shop_level), body, format="json").status_code == 401
    till = _bound_client(store)
    assert till.put(url(shop_level), body, format="json").status_code == 200
    response = till.put(url(shop_level, "MAIN"), body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {
        "location": "MAIN",
        "allowed_locations": ["STORE-01"],
    }
    assert _settings(shop_level, main) == (None, None)
    assert ApiKey.objects.count() == 2


def test_an_idempotency_key_replays_the_answer(stock_client, shop_level, store):
    headers = {"HTTP_IDEMPOTENCY_KEY": "settings-1"}
    body = {"low_stock_threshold": 1, "target": 5}
    first = stock_client.put(url(shop_level), body, format="json", **headers)
    # Changed meanwhile by someone else: the replay still answers what the first call did.
    stock_level_settings_set(
        variant=shop_level, location=store, low_stock_threshold=2, target=9, actor=ACTOR
    )
    again = stock_client.put(url(shop_level), body, format="json", **headers)
    assert again.status_code == first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert _settings(shop_level, store) == (2, 9)
    other = stock_client.put(url(shop_level), {**body, "target": 6}, format="json", **headers)
    assert other.status_code == 422


def test_put_costs_a_fixed_number_of_queries(stock_client, shop_level, django_assert_num_queries):
    body = {"low_stock_threshold": 1, "target": 5}
    # The key, the variant, the location; in the transaction: the location locked, the variant
    # locked, its level, the UPDATE (and the savepoint's two).
    with django_assert_num_queries(9):
        assert stock_client.put(url(shop_level), body, format="json").status_code == 200


def test_get_on_the_level_s_address_is_not_allowed(stock_client, shop_level):
    response = stock_client.get(url(shop_level))
    assert response.status_code == 405
