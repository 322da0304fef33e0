"""Locations in the admin: listed, created and changed through the location services, so the same
rules hold as over the API: exactly one default, moved in one transaction; nothing archived while
it holds stock; codes never change; nothing deleted."""

from collections.abc import Callable
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.tests.support import admin_url, race
from conftest import TEST_ACTOR, PlaceOrder
from core.api.authentication import api_key_actor
from core.api.models import ApiKey
from core.api.services import api_key_create, api_key_revoke
from core.exceptions import Protected
from stock import services as stock_services
from stock.exceptions import LocationNotAllowed
from stock.locations import location_create, location_update
from stock.models import Location

pytestmark = pytest.mark.django_db

LOCATIONS = reverse("admin:stock_location_changelist")
LOCATION_ADD = reverse("admin:stock_location_add")


@pytest.fixture
def store() -> Location:
    return location_create(code="STORE-01", name="High Street", kind="store")


@pytest.fixture
def main() -> Location:
    return Location.objects.get(code="MAIN")


def _locations() -> list[tuple[str, str, str, bool, bool]]:
    return list(
        Location.objects.order_by("code").values_list(
            "code", "name", "kind", "is_active", "is_default"
        )
    )


def _form(location: Location | None = None, **fields: str) -> dict[str, str]:
    """The location's form as the admin posts it (the code only when adding), ``fields``
    typed in; a flag is on when its value is "on"."""
    data = {
        "name": location.name if location else "",
        "kind": location.kind if location else "store",
        **({"is_active": "on"} if location is None or location.is_active else {}),
        **({"is_default": "on"} if location is not None and location.is_default else {}),
        **fields,
    }
    return {name: value for name, value in data.items() if value != "off"}


def _errors(response) -> dict[str, list[str]]:
    return {
        field: list(errors) for field, errors in response.context["adminform"].form.errors.items()
    }


def test_the_list_shows_code_name_kind_and_the_flags(superuser_web: Client, store: Location):
    response = superuser_web.get(LOCATIONS)

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.list_display == [
        "code",
        "name",
        "kind",
        "is_active",
        "is_default",
        "bound_keys",
    ]
    assert [location.code for location in changelist.result_list] == ["MAIN", "STORE-01"]


def test_a_location_is_created_with_its_code_in_upper_case(superuser_web: Client):
    response = superuser_web.post(LOCATION_ADD, _form(code=" web ", name="Web shop", kind="online"))

    assert response.status_code == 302
    assert _locations() == [
        ("MAIN", "Main stock", "warehouse", True, True),
        ("WEB", "Web shop", "online", True, False),
    ]


def test_a_new_default_takes_it_from_the_old_one(superuser_web: Client):
    response = superuser_web.post(
        LOCATION_ADD, _form(code="WEB", name="Web shop", kind="online", is_default="on")
    )

    assert response.status_code == 302
    assert _locations() == [
        ("MAIN", "Main stock", "warehouse", True, False),
        ("WEB", "Web shop", "online", True, True),
    ]


def test_making_a_location_the_default_moves_it(
    superuser_web: Client, store: Location, main: Location
):
    response = superuser_web.post(admin_url("change", store), _form(store, is_default="on"))

    assert response.status_code == 302
    assert _locations() == [
        ("MAIN", "Main stock", "warehouse", True, False),
        ("STORE-01", "High Street", "store", True, True),
    ]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        pytest.param(
            {"is_default": "off"},
            {
                "is_default": [
                    "MAIN is the default location: make another location the default instead."
                ]
            },
            id="unset the default",
        ),
        pytest.param(
            {"is_active": "off"},
            {"is_active": ["The default location takes stock: it cannot be archived."]},
            id="archive the default",
        ),
        pytest.param({"name": "  "}, {"name": ["This field is required."]}, id="no name"),
    ],
)
def test_the_default_stays_the_default_and_active(
    superuser_web: Client, main: Location, change, errors
):
    before = _locations()

    response = superuser_web.post(admin_url("change", main), _form(main, **change))

    assert response.status_code == 200
    assert _errors(response) == errors
    assert _locations() == before


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        pytest.param(
            {"code": "store 1"},
            {"code": ["Use A-Z, 0-9 and inner hyphens."]},
            id="bad code",
        ),
        pytest.param(
            {"code": "main"},
            {"code": ["Location with this Code already exists."]},
            id="code taken",
        ),
        pytest.param(
            {"code": "OLD", "is_active": "off", "is_default": "on"},
            {"is_active": ["The default location takes stock: it cannot be archived."]},
            id="archived default",
        ),
    ],
)
def test_a_location_that_breaks_a_rule_is_not_created(superuser_web: Client, fields, errors):
    before = _locations()

    response = superuser_web.post(LOCATION_ADD, _form(name="Shop", **fields))

    assert response.status_code == 200
    assert _errors(response) == errors
    assert _locations() == before


def test_an_empty_location_is_archived(superuser_web: Client, store: Location):
    response = superuser_web.post(admin_url("change", store), _form(store, is_active="off"))

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.is_active, store.is_default) == (False, False)


def test_a_location_holding_stock_is_not_archived(
    superuser_web: Client, store: Location, small: Variant
):
    stock_services.stock_adjust(
        variant_id=small.pk, delta=3, reason="received", actor=TEST_ACTOR, location=store
    )
    before = _locations()

    response = superuser_web.post(admin_url("change", store), _form(store, is_active="off"))

    assert _errors(response) == {
        "is_active": [
            "STORE-01 still holds 3 unit(s) on hand, 0 of them committed to open orders: move "
            "or count them out (and fulfil or cancel those orders) before archiving it."
        ]
    }
    assert _locations() == before


def test_committed_units_are_counted_too(
    small: Variant, main: Location, store: Location, place_order: PlaceOrder
):
    # MAIN holds the S-M's 5 units, 2 of them committed; then the default moves away (the
    # default is never archived, whatever it holds).
    place_order((small, 2))
    location_update(location=store, data={"is_default": True})

    with pytest.raises(Protected) as refused:
        location_update(location=main, data={"is_active": False})

    assert refused.value.details == {"location": "MAIN", "on_hand": 5, "committed": 2}
    main.refresh_from_db()
    assert main.is_active is True


def test_a_refusal_the_form_could_not_foresee_comes_back_as_a_message(
    superuser_web: Client, store: Location, small: Variant
):
    """Stock arrived between the form's check and the service's, which checks under its lock."""
    stock_services.stock_adjust(
        variant_id=small.pk, delta=1, reason="received", actor=TEST_ACTOR, location=store
    )
    before = _locations()

    with mock.patch("stock.admin.locations.location_change_errors", return_value={}):
        response = superuser_web.post(
            admin_url("change", store), _form(store, is_active="off"), follow=True
        )

    assert [str(message) for message in response.context["messages"]] == [
        "Nothing was saved: STORE-01 still holds stock (1 units on hand, 0 of them committed to "
        "open orders); an archived location holds none. Sell, move or write them off first."
    ]
    assert _locations() == before


def test_the_code_never_changes(superuser_web: Client, store: Location):
    page = superuser_web.get(admin_url("change", store))
    response = superuser_web.post(
        admin_url("change", store), _form(store, code="STORE-02", name="High Street 1")
    )

    assert "code" not in page.context["adminform"].form.fields
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.code, store.name) == ("STORE-01", "High Street 1")
    with pytest.raises(ValidationError) as refused:
        location_update(location=store, data={"code": "STORE-02"})
    assert refused.value.message_dict == {"code": ["This field cannot be changed."]}


def test_nobody_deletes_a_location(superuser_web: Client, store: Location):
    delete_url = reverse("admin:stock_location_delete", args=[store.pk])

    assert superuser_web.get(delete_url).status_code == 403
    assert superuser_web.post(delete_url, {"post": "yes"}).status_code == 403
    assert Location.objects.filter(pk=store.pk).exists()


def test_store_staff_see_the_locations_and_cannot_add_or_change_one(
    login: Callable[[User], Client], store_staff: User, main: Location
):
    client = login(store_staff)
    before = _locations()

    listed = client.get(LOCATIONS)
    add = client.post(LOCATION_ADD, _form(code="WEB", name="Web", kind="online"))
    change = client.post(admin_url("change", main), _form(main, name="Renamed"))

    assert listed.status_code == 200
    assert [location.code for location in listed.context["cl"].result_list] == ["MAIN"]
    assert (add.status_code, change.status_code) == (403, 403)
    assert _locations() == before


def test_a_manager_sets_up_locations_as_over_the_api(
    login: Callable[[User], Client], manager: User, main: Location
):
    # The API lets a manager (who may change products) manage locations: so does the admin.
    client = login(manager)

    add = client.post(LOCATION_ADD, _form(code="WEB", name="Web", kind="online"))
    change = client.post(admin_url("change", main), _form(main, name="Warehouse"))

    assert (add.status_code, change.status_code) == (302, 302)
    assert _locations() == [
        ("MAIN", "Warehouse", "warehouse", True, True),
        ("WEB", "Web", "online", True, False),
    ]


def _key(name: str, **fields) -> ApiKey:
    api_key, _ = api_key_create(name=name, scopes=["orders:write", "stock:write"], **fields)
    return api_key


def test_keys_are_bound_to_a_location_in_its_form_and_act_only_there(
    superuser_web: Client, store: Location, main: Location, make_product
):
    till, web = _key("Till 1"), _key("Web shop")
    variant = make_product(stock={"S-M": 3}).variants.get()

    # When the shop's till key is bound to the shop in the admin
    response = superuser_web.post(admin_url("change", store), _form(store, api_keys=str(till.pk)))

    # Then the key is bound there (the list shows it) and the other key stays free
    assert response.status_code == 302
    assert list(till.locations.values_list("code", flat=True)) == ["STORE-01"]
    assert not web.locations.exists()
    listed = superuser_web.get(LOCATIONS).context["cl"]
    shown = {
        location.code: listed.model_admin.bound_keys(location) for location in listed.result_list
    }
    assert shown == {"MAIN": "-", "STORE-01": "Till 1"}
    # and the till may no longer change stock at MAIN
    with pytest.raises(LocationNotAllowed):
        stock_services.stock_adjust(
            variant_id=variant.pk,
            delta=1,
            reason="received",
            actor=api_key_actor(till),
            location=main,
        )

    # When the key is taken off again, it acts anywhere
    superuser_web.post(admin_url("change", store), _form(store))
    assert not till.locations.exists()
    stock_services.stock_adjust(
        variant_id=variant.pk, delta=1, reason="received", actor=api_key_actor(till), location=main
    )


def test_the_form_offers_only_usable_keys_and_keeps_a_revoked_keys_binding(
    superuser_web: Client, store: Location
):
    till, old = _key("Till 1"), _key("Old till")
    store.api_keys.add(old)
    api_key_revoke(api_key=old)

    form = superuser_web.get(admin_url("change", store)).context["adminform"].form
    offered = [key.name for key in form.fields["api_keys"].queryset]
    superuser_web.post(admin_url("change", store), _form(store, api_keys=str(till.pk)))

    assert offered == ["Till 1"]
    assert not form.fields["api_keys"].widget.can_add_related  # keys are made on their own page
    assert sorted(store.api_keys.values_list("name", flat=True)) == ["Old till", "Till 1"]


def test_no_key_is_bound_to_an_archived_location(superuser_web: Client, store: Location):
    till = _key("Till 1")

    response = superuser_web.post(
        admin_url("change", store), _form(store, is_active="off", api_keys=str(till.pk))
    )

    assert response.status_code == 200
    assert _errors(response) == {
        "api_keys": ["An archived location takes no stock: bind no key to it."]
    }
    assert Location.objects.get(pk=store.pk).is_active
    assert not till.locations.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_moves_of_the_default_leave_exactly_one():
    stores = [
        location_create(code=f"STORE-{number}", name=f"Shop {number}", kind="store")
        for number in range(1, 5)
    ]

    outcomes = race(
        [
            lambda store=store: location_update(location=store, data={"is_default": True})
            for store in stores
        ]
    )

    assert [type(outcome) for outcome in outcomes] == [Location] * len(stores)
    assert Location.objects.filter(is_default=True).count() == 1
