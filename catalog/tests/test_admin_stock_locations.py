"""Stock at a location in the admin: the stock fields of a variant's row (product page) and of its
own page take a location (the active ones, the default preselected), check the change against
the level there, and the variant page shows its level at each location."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Product, Variant
from catalog.tests.admin_stock_support import DOORS, _everything, _post_stock
from catalog.tests.support import admin_url
from conftest import TEST_ACTOR, PlaceOrder
from stock import services as stock_services
from stock.locations import location_create
from stock.models import Location, StockLevel, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Location:
    return location_create(code="STORE-01", name="High Street", kind="store")


@pytest.fixture
def archived() -> Location:
    return location_create(code="OLD", name="Old shop", kind="store", is_active=False)


@pytest.fixture
def stocked(small: Variant, store: Location) -> Variant:
    """The S-M with 5 at MAIN (its opening) and 2 received at STORE-01."""
    stock_services.stock_adjust(
        variant_id=small.pk, delta=2, reason="received", actor=TEST_ACTOR, location=store
    )
    small.refresh_from_db()
    return small


def _levels(variant: Variant) -> dict[str, tuple[int, int]]:
    return {
        code: (on_hand, committed)
        for code, on_hand, committed in StockLevel.objects.filter(variant=variant).values_list(
            "location__code", "on_hand", "committed"
        )
    }


def _form_errors(response: Any, variant: Variant) -> dict[str, list[str]]:
    inlines = response.context["inline_admin_formsets"]
    if inlines:
        [form] = [f for f in inlines[0].formset.forms if f.instance.pk == variant.pk]
    else:
        form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


def test_the_location_select_offers_the_active_locations_the_default_first_and_chosen(
    manager_web: Client, small: Variant, store: Location, archived: Location
):
    form = manager_web.get(admin_url("change", small)).context["adminform"].form

    field = form.fields["stock_location"]
    assert field.choices == [("MAIN", "MAIN (Main stock)"), ("STORE-01", "STORE-01 (High Street)")]
    assert form["stock_location"].value() == "MAIN"
    # What was on hand at each location when the page was drawn, for the count's check.
    assert form["on_hand_seen"].value() == '{"MAIN": 5}'


@pytest.mark.parametrize("door", DOORS)
def test_a_change_happens_at_the_location_chosen(
    manager_web: Client, manager: User, stocked: Variant, door
):
    response = _post_stock(
        manager_web,
        stocked,
        door,
        stock_location="STORE-01",
        stock_change="-2",
        stock_reason="lost",
    )

    assert response.status_code == 302
    assert _levels(stocked) == {"MAIN": (5, 0), "STORE-01": (0, 0)}
    stocked.refresh_from_db()
    assert stocked.quantity == 5
    last = StockMovement.objects.filter(variant=stocked).latest("id")
    assert (last.location.code, last.reason, last.delta, last.quantity_after, last.user_id) == (
        "STORE-01",
        "lost",
        -2,
        0,
        manager.pk,
    )


@pytest.mark.parametrize("door", DOORS)
def test_a_change_without_a_location_happens_at_the_default(
    manager_web: Client, stocked: Variant, door
):
    response = _post_stock(manager_web, stocked, door, stock_change="3", stock_reason="received")

    assert response.status_code == 302
    assert _levels(stocked) == {"MAIN": (8, 0), "STORE-01": (2, 0)}


@pytest.mark.parametrize("door", DOORS)
def test_a_decrease_is_checked_against_what_is_available_at_that_location(
    manager_web: Client, stocked: Variant, door
):
    before = _everything()

    response = _post_stock(
        manager_web,
        stocked,
        door,
        stock_location="STORE-01",
        stock_change="-3",
        stock_reason="lost",
    )

    assert response.status_code == 200
    assert _form_errors(response, stocked) == {
        "stock_change": ["Only 2 available at STORE-01; nothing was changed."]
    }
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_units_committed_to_open_orders_are_not_a_changes_to_take(
    manager_web: Client, small: Variant, place_order: PlaceOrder, door
):
    place_order((small, 2))  # at MAIN: 5 on hand, 2 of them committed
    before = _everything()

    response = _post_stock(manager_web, small, door, stock_change="-4", stock_reason="damaged")

    assert _form_errors(response, small) == {
        "stock_change": ["Only 3 available at MAIN; nothing was changed."]
    }
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_a_count_sets_the_units_on_hand_at_that_location(
    manager_web: Client, stocked: Variant, door
):
    response = _post_stock(
        manager_web, stocked, door, stock_location="STORE-01", counted_quantity="7"
    )

    assert response.status_code == 302
    assert _levels(stocked) == {"MAIN": (5, 0), "STORE-01": (7, 0)}
    last = StockMovement.objects.filter(variant=stocked).latest("id")
    assert (last.location.code, last.reason, last.delta, last.quantity_after) == (
        "STORE-01",
        "count_correction",
        5,
        7,
    )


def test_a_count_below_the_committed_units_is_refused_on_the_field(
    manager_web: Client, small: Variant, place_order: PlaceOrder
):
    place_order((small, 2))
    before = _everything()

    response = _post_stock(manager_web, small, "variant page", counted_quantity="1")

    assert _form_errors(response, small) == {
        "counted_quantity": [
            "2 units at MAIN are committed to open orders: a count below that needs some of "
            "them cancelled first."
        ]
    }
    assert _everything() == before


def test_a_count_is_refused_if_the_shelf_changed_there_since_the_page_was_drawn(
    manager_web: Client, stocked: Variant, store: Location
):
    # The page said 2 at STORE-01; a delivery came in there meanwhile.
    stock_services.stock_adjust(
        variant_id=stocked.pk, delta=1, reason="received", actor=TEST_ACTOR, location=store
    )
    before = _everything()

    response = _post_stock(
        manager_web,
        stocked,
        "variant page",
        stock_location="STORE-01",
        counted_quantity="4",
        on_hand_seen='{"MAIN": 5, "STORE-01": 2}',
    )

    assert response.status_code == 302
    assert _everything() == before
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "Nothing was saved: The quantity changed since the count started; nothing was "
        "changed. Count again."
    ]


def test_a_count_at_another_location_than_the_one_that_changed_goes_through(
    manager_web: Client, stocked: Variant, store: Location
):
    stock_services.stock_adjust(
        variant_id=stocked.pk, delta=1, reason="received", actor=TEST_ACTOR, location=store
    )

    response = _post_stock(
        manager_web,
        stocked,
        "variant page",
        stock_location="MAIN",
        counted_quantity="4",
        on_hand_seen='{"MAIN": 5, "STORE-01": 2}',
    )

    assert response.status_code == 302
    assert _levels(stocked) == {"MAIN": (4, 0), "STORE-01": (3, 0)}


def test_an_archived_location_is_not_a_choice(
    manager_web: Client, small: Variant, archived: Location
):
    before = _everything()

    response = _post_stock(
        manager_web,
        small,
        "variant page",
        stock_location="OLD",
        stock_change="1",
        stock_reason="received",
    )

    assert _form_errors(response, small) == {
        "stock_location": ["Select a valid choice. OLD is not one of the available choices."]
    }
    assert _everything() == before


def test_the_variant_page_shows_its_level_at_each_location(
    manager_web: Client, stocked: Variant, place_order: PlaceOrder
):
    place_order((stocked, 1))

    html = manager_web.get(admin_url("change", stocked)).content.decode()

    table = html.split('class="stock-levels"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 3  # the header and a row per level
    assert (
        '<tr><td>MAIN (Main stock)</td><td class="num">5</td><td class="num">1</td>'
        '<td class="num">4</td><td class="num">0</td><td class="num">2*</td>'
        '<td class="num">3*</td></tr>'
    ) in table
    assert (
        '<tr><td>STORE-01 (High Street)</td><td class="num">2</td><td class="num">0</td>'
        '<td class="num">2</td><td class="num">0</td><td class="num">2*</td>'
        '<td class="num">3*</td></tr>'
    ) in table


def test_a_variant_without_levels_says_so(manager_web: Client, tee: Product):
    never_stocked = tee.variants.get(size="L-XL")

    html = manager_web.get(admin_url("change", never_stocked)).content.decode()

    assert "No stock at any location yet." in html


def test_staff_without_the_stock_permission_see_no_location_to_choose(
    login: Callable[[User], Client], small: Variant, store: Location
):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_variant"))

    form = login(viewer).get(admin_url("change", small)).context["adminform"].form

    # The stock fields are there, disabled, and no location was read for them.
    assert {name: field.disabled for name, field in form.fields.items()} == {
        "stock_location": True,
        "stock_change": True,
        "stock_reason": True,
        "counted_quantity": True,
        "stock_note": True,
        "on_hand_seen": True,
    }
    assert form.fields["stock_location"].choices == []
