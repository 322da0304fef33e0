"""Replenishment: which levels at a location are low, what brings them to their targets counting
what is on its way, limited by what the source has available (``stock.replenishment``); the
suggestion over the API (``GET /api/v1/replenishment/``) and the draft transfer made from it
(``POST``)."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from catalog.models import Variant
from core.actors import system_actor
from core.api.services import api_key_create
from stock.models import Location, LocationKind, StockLevel, Transfer, TransferStatus
from stock.replenishment import (
    ReplenishmentLine,
    replenishment_lines,
    replenishment_locations,
    replenishment_transfer_create,
)
from stock.services import stock_adjust, stock_level_settings_set
from stock.tests.location_support import everything, levels
from stock.transfers import TransferLineRequest, transfer_create, transfer_ship

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
URL = "/api/v1/replenishment/"


def _put(variant, location, units):
    stock_adjust(variant_id=variant.pk, delta=units, reason="received", actor=ACTOR,
                 location=location)  # fmt: skip


@pytest.fixture
def shelves(make_product, place_order, main, store):
    """At MAIN: tee S-M 10, L-XL 5 (2 of them committed to an order), One Size 0; pant S-M 4.
    At STORE-01: tee S-M 1 (variant's threshold 2: low, target 3), L-XL 4 (own threshold 5 and
    target 12: low), One Size 1 (low, MAIN has none), pant S-M 3 (not low)."""
    tee = make_product(name="Tee", stock={"S-M": 10, "L-XL": 5, "One Size": 0})
    pant = make_product(name="Pant", category="Pants", stock={"S-M": 4})
    small, large, one = (tee.variants.get(size=size) for size in ("S-M", "L-XL", "One Size"))
    pant_small = pant.variants.get()
    _put(small, store, 1)
    _put(large, store, 4)
    _put(one, store, 1)
    _put(pant_small, store, 3)
    stock_level_settings_set(
        variant=large, location=store, low_stock_threshold=5, target=12, actor=ACTOR
    )
    place_order((large, 2))
    return {"small": small, "large": large, "one": one, "pant_small": pant_small, "tee": tee}


def _line(variant, *, available, incoming=0, drafted=0, threshold=2, target=None, source,
          needed, suggested):  # fmt: skip
    return ReplenishmentLine(
        variant_id=variant.pk,
        sku=variant.sku,
        product_name=variant.product.name,
        size=variant.size,
        available=available,
        incoming=incoming,
        drafted=drafted,
        low_stock_threshold=threshold,
        target=threshold + 1 if target is None else target,
        available_at_source=source,
        needed=needed,
        suggested=suggested,
    )


def test_each_low_level_is_brought_to_its_target_limited_by_the_source(shelves, main, store):
    small, large, one = shelves["small"], shelves["large"], shelves["one"]
    assert replenishment_lines(to_location=store, from_location=main) == [
        # The variant's threshold (2) and its default target (3): 3 - 1.
        _line(small, available=1, source=10, needed=2, suggested=2),
        # The level's own threshold (5; the variant's 2 would not call it low) and target
        # (12): 12 - 4 = 8, but MAIN has only 3 available (5 on hand, 2 committed).
        _line(large, available=4, threshold=5, target=12, source=3, needed=8, suggested=3),
        # MAIN has none: kept, with nothing suggested.
        _line(one, available=1, source=0, needed=2, suggested=0),
    ]  # the pant (3 at the shop) is not low


def test_units_incoming_count_towards_the_target(shelves, main, store):
    small, one = shelves["small"], shelves["one"]
    _put(one, main, 5)
    for variant, units in ((small, 2), (one, 1)):
        transfer = transfer_create(
            from_location=main,
            to_location=store,
            lines=[TransferLineRequest(variant_id=variant.pk, quantity=units)],
            actor=ACTOR,
        )
        transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    lines = {line.sku: line for line in replenishment_lines(to_location=store, from_location=main)}
    # S-M: 1 available + 2 incoming reaches its target of 3: no line.
    assert small.sku not in lines
    # One Size: 3 - 1 - 1 incoming = 1.
    assert lines[one.sku] == _line(one, available=1, incoming=1, source=4, needed=1, suggested=1)


def test_a_low_threshold_of_the_level_can_take_a_level_off_the_list(shelves, main, store):
    small = shelves["small"]
    stock_level_settings_set(
        variant=small, location=store, low_stock_threshold=0, target=None, actor=ACTOR
    )
    skus = [line.sku for line in replenishment_lines(to_location=store, from_location=main)]
    assert small.sku not in skus


def test_archived_products_and_variants_without_a_level_there_are_left_out(
    shelves, main, store, make_product
):
    tee = shelves["tee"]
    make_product(name="Sock", stock={"One Size": 9})  # never at the shop: no level there
    tee.is_active = False
    tee.save(update_fields=["is_active"])
    assert replenishment_lines(to_location=store, from_location=main) == []


def test_the_other_way_round(shelves, main, store):
    """The shop may replenish the warehouse too: MAIN's One Size (sold out, its level left
    behind) from the shop's 1."""
    one = shelves["one"]
    _put(one, main, 1)
    stock_adjust(variant_id=one.pk, delta=-1, reason="lost", actor=ACTOR, location=main)
    lines = replenishment_lines(to_location=main, from_location=store)
    assert lines == [_line(one, available=0, source=1, needed=3, suggested=1)]


@pytest.mark.parametrize(
    ("to", "source", "errors"),
    [
        (None, "MAIN", {"to": ["Name a location by its code."]}),
        ("store-01", "", {"from": ["Name a location by its code."]}),
        ("NOPE", "STORE-02", {"to": ["No location with code NOPE."],
                              "from": ["STORE-02 is archived and holds no stock."]}),
        ("main", "MAIN", {"from": ["Replenish from another location than the one replenished."]}),
    ],
)  # fmt: skip
def test_the_locations_must_be_two_active_ones(main, store, archived, to, source, errors):
    with pytest.raises(ValidationError) as error:
        replenishment_locations(to_code=to, from_code=source)
    assert error.value.message_dict == errors


def test_a_draft_transfer_takes_every_suggested_line_and_moves_nothing(shelves, main, store):
    before = everything()
    transfer = replenishment_transfer_create(to_location=store, from_location=main, actor=ACTOR)
    assert (transfer.status, transfer.from_location, transfer.to_location, transfer.note) == (
        TransferStatus.DRAFT,
        main,
        store,
        "Replenishment",
    )
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == sorted(
        [(shelves["small"].pk, 2), (shelves["large"].pk, 3)]
    )
    assert everything() == before


def test_nothing_to_suggest_drafts_no_transfer(shelves, main, online):
    with pytest.raises(ValidationError) as error:
        replenishment_transfer_create(to_location=online, from_location=main, actor=ACTOR)
    assert error.value.message_dict["to"][0].startswith("Nothing to replenish at WEB from MAIN")
    assert not Transfer.objects.exists()


# The API


def _json_line(variant, *, available, incoming=0, drafted=0, threshold=2, target=None, source,
               needed, suggested):  # fmt: skip
    return {
        "variant": variant.pk,
        "sku": variant.sku,
        "product_name": variant.product.name,
        "size": variant.size,
        "available": available,
        "incoming": incoming,
        "drafted": drafted,
        "low_stock_threshold": threshold,
        "target": threshold + 1 if target is None else target,
        "available_at_source": source,
        "needed": needed,
        "suggested": suggested,
    }


def test_get_the_suggestion(reader, shelves):
    response = reader.get(URL, {"to": "store-01", "from": "main"})
    assert response.status_code == 200, response.json()
    small, large, one = shelves["small"], shelves["large"], shelves["one"]
    assert response.json() == {
        "to": "STORE-01",
        "from": "MAIN",
        "lines": [
            _json_line(small, available=1, source=10, needed=2, suggested=2),
            _json_line(large, available=4, threshold=5, target=12, source=3, needed=8, suggested=3),
            _json_line(one, available=1, source=0, needed=2, suggested=0),
        ],
    }


def test_get_costs_three_queries_however_many_lines(
    reader, make_product, main, store, django_assert_num_queries
):
    def ask():
        # The key, the two locations, the lines.
        with django_assert_num_queries(3):
            return reader.get(URL, {"to": "STORE-01", "from": "MAIN"}).json()["lines"]

    make_product(name="Tee", stock={"S-M": 3})
    assert ask() == []
    for n in range(5):
        product = make_product(name=f"Tee {n}", stock={"S-M": 3, "L-XL": 3})
        for variant in product.variants.all():
            _put(variant, store, 1)
    assert len(ask()) == 10


def _invalid(response, details):
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "The request is not valid; see details for the fields at fault.",
        "details": details,
    }


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({}, {"to": ["Name a location by its code."], "from": ["Name a location by its code."]}),
        ({"to": "STORE-01", "from": "nope"}, {"from": ["No location with code NOPE."]}),
        ({"to": "STORE-02", "from": "MAIN"}, {"to": ["STORE-02 is archived and holds no stock."]}),
        ({"to": "MAIN", "from": "main"},
         {"from": ["Replenish from another location than the one replenished."]}),
        ({"to": "MAIN", "from": "STORE-01", "page": "2"},
         {"page": ["Unknown query parameter. This endpoint takes: format, from, to."]}),
    ],
)  # fmt: skip
def test_get_refuses_bad_locations_by_name(reader, main, store, archived, params, details):
    _invalid(reader.get(URL, params), details)


def test_post_drafts_the_transfer(stock_client, shelves, main, store):
    before = levels()
    response = stock_client.post(
        URL, {"to": "store-01", "from": "MAIN", "note": "Saturday"}, format="json"
    )
    assert response.status_code == 201, response.json()
    transfer = Transfer.objects.get()
    lines = list(transfer.lines.order_by("id"))
    small, large = shelves["small"], shelves["large"]
    body = response.json()
    assert response["Location"] == f"/api/v1/transfers/{transfer.pk}/"
    # The transfer as the transfers' own API answers it.
    assert body == stock_client.get(response["Location"]).json()
    assert (body["id"], body["number"], body["status"]) == (transfer.pk, transfer.number, "draft")
    assert (body["from_location"], body["to_location"], body["note"]) == (
        "MAIN",
        "STORE-01",
        "Saturday",
    )
    assert [
        (line["id"], line["variant"], line["sku"], line["quantity"]) for line in body["lines"]
    ] == [
        (lines[0].pk, small.pk, small.sku, 2),
        (lines[1].pk, large.pk, large.sku, 3),
    ]
    assert transfer.number.startswith("TR-")
    assert levels() == before  # a draft moves nothing


def test_asking_twice_drafts_nothing_twice(stock_client, shelves, main, store):
    # The first draft's units count towards each target, and are no longer available at the
    # source for another: the second POST finds nothing left to ask for.
    first = stock_client.post(URL, {"to": "STORE-01", "from": "MAIN"}, format="json")
    assert first.status_code == 201, first.json()
    again = stock_client.post(URL, {"to": "STORE-01", "from": "MAIN"}, format="json")
    assert again.status_code == 400, again.json()
    assert Transfer.objects.count() == 1
    small, large, one = shelves["small"], shelves["large"], shelves["one"]
    assert replenishment_lines(to_location=store, from_location=main) == [
        # L-XL: 3 of the 8 it needs drafted, all that MAIN had (the draft asks for them);
        # One Size: MAIN has none.
        _line(large, available=4, drafted=3, threshold=5, target=12, source=0, needed=5,
              suggested=0),
        _line(one, available=1, source=0, needed=2, suggested=0),
    ]  # fmt: skip
    assert small.pk not in {line.variant_id for line in replenishment_lines(
        to_location=store, from_location=main)}  # fmt: skip


def test_post_with_nothing_to_suggest_is_400(stock_client, shelves, online):
    response = stock_client.post(URL, {"to": "WEB", "from": "MAIN"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["to"]
    assert not Transfer.objects.exists()


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"to": "STORE-01"}, {"from": ["This field is required."]}),
        ({"to": "STORE-01", "from": "MAIN", "lines": []},
         {"lines": ["Unknown field; the fields here are: to, note, from."]}),
        ({"to": "STORE-01", "from": "STORE-01"},
         {"from": ["Replenish from another location than the one replenished."]}),
    ],
)  # fmt: skip
def test_post_refuses_bad_bodies(stock_client, shelves, body, details):
    _invalid(stock_client.post(URL, body, format="json"), details)
    assert not Transfer.objects.exists()


def test_an_idempotency_key_drafts_one_transfer(stock_client, shelves):
    body, headers = {"to": "STORE-01", "from": "MAIN"}, {"HTTP_IDEMPOTENCY_KEY": "repl-1"}
    first = stock_client.post(URL, body, format="json", **headers)
    again = stock_client.post(URL, body, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Transfer.objects.count() == 1


def test_who_may_draft(key_client, shelves, store):
    body = {"to": "STORE-01", "from": "MAIN"}
    response = key_client().post(URL, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key lacks the scope stock:write."
    assert APIClient().get(URL, body).status_code == 401
    web = Location.objects.create(code="WEB", name="Web", kind=LocationKind.ONLINE)
    for bound_to, status in ((web, 403), (store, 201)):
        api_key, raw = api_key_create(name=f"till-{bound_to.code}", scopes=["stock:write"])
        bound_to.api_keys.add(api_key)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        assert client.post(URL, body, format="json").status_code == status
    assert Transfer.objects.count() == 1


def test_a_target_below_a_raised_variant_threshold_still_replenishes(shelves, main, store):
    # The level's target (3) was set when the variant's threshold was 2; raised to 5 since,
    # the level is low, and its target is at least one above the threshold.
    small = shelves["small"]
    stock_level_settings_set(
        variant=small, location=store, low_stock_threshold=None, target=3, actor=ACTOR
    )
    Variant.objects.filter(pk=small.pk).update(low_stock_threshold=5)
    [line] = [
        line
        for line in replenishment_lines(to_location=store, from_location=main)
        if line.variant_id == small.pk
    ]
    assert (line.low_stock_threshold, line.target, line.needed) == (5, 6, 5)
    level = StockLevel.objects.select_related("variant").get(variant=small, location=store)
    assert level.effective_target == 6
