"""Locations over the API: read by every catalog reader, managed with catalog:write or by a
manager; one default at any time; a code that never changes; archived only when empty."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from stock.locations import location_create
from stock.models import Location, StockLevel
from stock.tests.api_support import adjust_url

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/locations/"


def location_url(location):
    return f"{LOCATIONS}{location.pk}/"


def _main():
    return Location.objects.get(code="MAIN")


def _as_json(location):
    return {
        "id": location.pk,
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "is_active": location.is_active,
        "is_default": location.is_default,
    }


def _defaults():
    return list(Location.objects.filter(is_default=True).values_list("code", flat=True))


@pytest.fixture
def store(db):
    return location_create(code="STORE-01", name="Shop on the corner", kind="store")


def _invalid(response, details):
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid; see details for the fields at fault.",
            "details": details,
        }
    }


# Reading


def test_every_catalog_reader_lists_the_locations_default_first_by_code(
    reader, store, django_assert_num_queries
):
    location_create(code="A-WEB", name="Web shop", kind="online")
    with django_assert_num_queries(3):  # the key, the count, the page
        response = reader.get(LOCATIONS)
    assert response.status_code == 200
    web = Location.objects.get(code="A-WEB")
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": web.pk,
                "code": "A-WEB",
                "name": "Web shop",
                "kind": "online",
                "is_active": True,
                "is_default": False,
            },
            {
                "id": _main().pk,
                "code": "MAIN",
                "name": "Main stock",
                "kind": "warehouse",
                "is_active": True,
                "is_default": True,
            },
            {
                "id": store.pk,
                "code": "STORE-01",
                "name": "Shop on the corner",
                "kind": "store",
                "is_active": True,
                "is_default": False,
            },
        ],
    }


def test_the_list_filters_by_kind_and_state(reader, store, writer):
    writer.patch(location_url(store), {"is_active": False}, format="json")

    def codes(**params):
        return [row["code"] for row in reader.get(LOCATIONS, params).json()["results"]]

    assert codes(kind="STORE") == ["STORE-01"]
    assert codes(kind=["store", "warehouse"]) == ["MAIN", "STORE-01"]
    assert codes(is_active="false") == ["STORE-01"]
    assert codes(is_active="true") == ["MAIN"]
    _invalid(reader.get(LOCATIONS, {"kind": "shed"}), {"kind": [
        "Select a valid choice. shed is not one of the available choices."
    ]})  # fmt: skip


def test_a_location_by_id(reader, store, django_assert_num_queries):
    with django_assert_num_queries(2):  # the key, the location
        response = reader.get(location_url(store))
    assert response.json() == _as_json(store)
    assert reader.get(f"{LOCATIONS}999999/").status_code == 404


# Creating


def test_create_a_location_its_code_read_upper_case(writer):
    response = writer.post(
        LOCATIONS, {"code": " store-02 ", "name": " Second shop ", "kind": "store"}, format="json"
    )
    assert response.status_code == 201, response.json()
    created = Location.objects.get(code="STORE-02")
    assert response.json() == {
        "id": created.pk,
        "code": "STORE-02",
        "name": "Second shop",
        "kind": "store",
        "is_active": True,
        "is_default": False,
    }
    assert response["Location"] == location_url(created)
    assert _defaults() == ["MAIN"]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {"code": "store 1", "name": "Shop", "kind": "store"},
            {"code": ["A location's code is up to 16 letters, digits and inner hyphens, e.g. "
                      "STORE-01."]},
        ),
        (
            {"code": "-STORE", "name": "Shop", "kind": "store"},
            {"code": ["A location's code is up to 16 letters, digits and inner hyphens, e.g. "
                      "STORE-01."]},
        ),
        (
            {"code": "S" * 17, "name": "Shop", "kind": "store"},
            {"code": ["A location's code is up to 16 letters, digits and inner hyphens, e.g. "
                      "STORE-01."]},
        ),
        (
            {"code": "SHOP", "name": "Shop", "kind": "shed"},
            {"kind": ['"shed" is not a valid choice.']},
        ),
        (
            {"code": "SHOP", "name": "   ", "kind": "STORE"},
            {"name": ["This field may not be blank."], "kind": ['"STORE" is not a valid choice.']},
        ),
        (
            {"code": 7, "name": "Shop", "kind": "store", "is_default": "yes"},
            {
                "code": ["Expected a string; got a number."],
                "is_default": ["Expected true or false; got a string."],
            },
        ),
        (
            {"code": "SHOP", "name": "Shop", "kind": "store", "id": 5},
            {"id": ["Unknown field; the fields here are: code, name, kind, is_active, is_default."]},
        ),
        (
            {},
            {
                "code": ["This field is required."],
                "name": ["This field is required."],
                "kind": ["This field is required."],
            },
        ),
    ],
)  # fmt: skip
def test_a_bad_location_is_refused_field_by_field(writer, body, details):
    _invalid(writer.post(LOCATIONS, body, format="json"), details)
    assert list(Location.objects.values_list("code", flat=True)) == ["MAIN"]


def test_a_code_taken_in_any_case_is_a_conflict_naming_it(writer, store):
    response = writer.post(
        LOCATIONS, {"code": "store-01", "name": "Another shop", "kind": "store"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "A value given is already taken; see details for the fields.",
            "details": {"code": ["Another location has this code; codes are unique."]},
        }
    }
    assert Location.objects.count() == 2


def test_a_new_default_takes_the_mark_from_the_old_one(writer):
    response = writer.post(
        LOCATIONS,
        {"code": "HQ", "name": "Headquarters", "kind": "warehouse", "is_default": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["is_default"] is True
    assert _defaults() == ["HQ"]


def test_an_archived_location_cannot_be_made_the_default(writer):
    body = {"code": "OLD", "name": "Old", "kind": "store", "is_active": False, "is_default": True}
    _invalid(
        writer.post(LOCATIONS, body, format="json"),
        {"is_default": ["An archived location cannot be the default."]},
    )
    assert _defaults() == ["MAIN"]


def test_creating_honours_an_idempotency_key(writer):
    body = {"code": "WEB", "name": "Web shop", "kind": "online"}
    first = writer.post(LOCATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="loc-1")
    again = writer.post(LOCATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="loc-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Location.objects.filter(code="WEB").count() == 1


# Changing


def test_rename_and_change_kind_writing_only_what_changed(writer, store):
    response = writer.patch(
        location_url(store), {"name": "Flagship", "kind": "warehouse"}, format="json"
    )
    assert response.status_code == 200, response.json()
    store.refresh_from_db()
    assert response.json() == _as_json(store)
    assert (store.name, store.kind) == ("Flagship", "warehouse")


def test_a_code_never_changes(writer, store):
    _invalid(
        writer.patch(location_url(store), {"code": "STORE-9", "name": "X"}, format="json"),
        {
            "code": [
                "A location's code never changes: labels, orders and the ledger name it. Create "
                "a new location, and archive this one once it is empty."
            ]
        },
    )
    store.refresh_from_db()
    assert (store.code, store.name) == ("STORE-01", "Shop on the corner")


def test_making_a_location_the_default_moves_the_mark_in_one_step(
    writer, store, django_assert_num_queries
):
    # The key and the store; in the service's savepoint: the store and the default found and
    # locked together (in key order), the old default's mark taken, the store's set.
    with django_assert_num_queries(7):
        response = writer.patch(location_url(store), {"is_default": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["is_default"] is True
    assert _defaults() == ["STORE-01"]
    # The mark moves back the same way, and setting it again changes nothing.
    assert writer.patch(location_url(_main()), {"is_default": True}, format="json").json()[
        "is_default"
    ]
    assert (
        writer.patch(location_url(_main()), {"is_default": True}, format="json").status_code == 200
    )
    assert _defaults() == ["MAIN"]


def test_the_default_cannot_be_unset_directly(writer):
    _invalid(
        writer.patch(location_url(_main()), {"is_default": False}, format="json"),
        {
            "is_default": [
                "There is always one default location: make another location the default, and "
                "this one stops being it."
            ]
        },
    )
    assert _defaults() == ["MAIN"]


def test_the_default_cannot_be_archived(writer, store):
    _invalid(
        writer.patch(location_url(_main()), {"is_active": False}, format="json"),
        {
            "is_active": [
                "The default location cannot be archived: make another location the default first."
            ]
        },
    )
    assert _main().is_active is True


def test_archiving_a_location_that_holds_stock_is_protected(
    writer, store, make_product, stock_client
):
    variant = make_product(stock={"S-M": 0}).variants.get()
    stock_client.post(
        adjust_url(variant), {"delta": 5, "reason": "received", "location": "STORE-01"}
    )
    response = writer.patch(location_url(store), {"is_active": False}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "protected",
            "message": "STORE-01 still holds stock (5 units on hand, 0 of them committed to open "
            "orders); an archived location holds none. Sell, move or write them off first.",
            "details": {"location": "STORE-01", "on_hand": 5, "committed": 0},
        }
    }
    store.refresh_from_db()
    assert store.is_active is True


def test_units_committed_to_open_orders_keep_a_location_active(
    writer, store, make_product, stock_client, shop_key
):
    from core.api.authentication import api_key_actor
    from orders.services import LineRequest, order_place

    variant = make_product(stock={"S-M": 0}).variants.get()
    stock_client.post(
        adjust_url(variant), {"delta": 3, "reason": "received", "location": "store-01"}
    )
    order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=2)],
        actor=api_key_actor(shop_key),
        location=store,
    )
    stock_client.post(
        adjust_url(variant), {"delta": -1, "reason": "damaged", "location": "store-01"}
    )
    response = writer.patch(location_url(store), {"is_active": False}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "location": "STORE-01",
        "on_hand": 2,
        "committed": 2,
    }


def test_an_empty_location_is_archived_and_then_takes_no_stock(
    writer, store, make_product, stock_client
):
    variant = make_product(stock={"S-M": 0}).variants.get()
    stock_client.post(
        adjust_url(variant), {"delta": 2, "reason": "received", "location": "STORE-01"}
    )
    stock_client.post(adjust_url(variant), {"delta": -2, "reason": "lost", "location": "STORE-01"})
    response = writer.patch(location_url(store), {"is_active": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] is False
    # Its history stays; its empty level too.
    assert StockLevel.objects.get(location=store).on_hand == 0
    _invalid(
        stock_client.post(
            adjust_url(variant), {"delta": 1, "reason": "received", "location": "store-01"}
        ),
        {"location": ["STORE-01 is archived and holds no stock."]},
    )
    # Archived, it cannot become the default, unless it comes back at the same time.
    _invalid(
        writer.patch(location_url(store), {"is_default": True}, format="json"),
        {"is_default": ["An archived location cannot be the default."]},
    )
    both = writer.patch(location_url(store), {"is_active": True, "is_default": True}, format="json")
    assert both.status_code == 200, both.json()
    assert _defaults() == ["STORE-01"]


def test_a_location_is_never_replaced_or_deleted_over_the_api(writer, store):
    body = {"code": "STORE-01", "name": "Shop", "kind": "store"}
    assert writer.put(location_url(store), body, format="json").status_code == 405
    assert writer.delete(location_url(store)).status_code == 405
    assert Location.objects.filter(pk=store.pk).exists()


# Who may


@pytest.mark.parametrize(
    ("caller", "read", "write", "message"),
    [
        ("anonymous", 401, 401, "Authentication credentials were not provided."),
        ("read key", 200, 403, "This API key lacks the scope catalog:write."),
        ("stock key", 200, 403, "This API key lacks the scope catalog:write."),
        ("catalog key", 200, 201, None),
        ("store staff", 200, 403, "Your user lacks the permission catalog.change_product."),
        ("manager", 200, 201, None),
    ],
)
def test_every_catalog_reader_reads_and_catalog_managers_manage(
    caller, read, write, message, key_client, store_staff, manager
):
    clients = {
        "read key": lambda: key_client(),
        "stock key": lambda: key_client("stock:write"),
        "catalog key": lambda: key_client("catalog:write"),
    }
    client = clients[caller]() if caller in clients else APIClient()
    users = {"store staff": store_staff, "manager": manager}
    if caller in users:
        client.force_login(users[caller])
    assert client.get(LOCATIONS).status_code == read
    response = client.post(
        LOCATIONS, {"code": "WEB", "name": "Web", "kind": "online"}, format="json"
    )
    assert response.status_code == write
    if message:
        assert response.json()["error"]["message"] == message
    patched = client.patch(location_url(_main()), {"name": "Renamed"}, format="json")
    assert patched.status_code == (200 if write == 201 else write)


def test_staff_without_catalog_access_cannot_even_read(client_of):
    staff = User.objects.create_user("plain", password="pw", is_staff=True)
    response = client_of(staff).get(LOCATIONS)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Your user lacks the permission catalog.view_variant."
    )


@pytest.fixture
def client_of():
    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make
