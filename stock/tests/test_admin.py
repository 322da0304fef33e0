"""The ledger in the admin: visible, never writable, for everyone (superusers included)."""

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.tests.admin_stock_support import MOVEMENTS, _everything
from catalog.tests.support import admin_url
from conftest import TEST_ACTOR, PlaceOrder
from core.actors import user_actor
from stock import services as stock_services
from stock.locations import location_create
from stock.models import MovementReason, StockMovement

pytestmark = pytest.mark.django_db

MOVEMENT_ADD = reverse("admin:stock_stockmovement_add")


@pytest.fixture
def movement(small: Variant, manager: User) -> StockMovement:
    return stock_services.stock_adjust(
        variant_id=small.pk,
        delta=-1,
        reason=MovementReason.DAMAGED,
        actor=user_actor(manager),
        note="Torn seam",
    )


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_ledger_pages_render(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    movement: StockMovement,
    small: Variant,
    user,
):
    client = login(request.getfixturevalue(user))

    changelist = client.get(MOVEMENTS)
    page = client.get(admin_url("change", movement))

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [
        movement,
        StockMovement.objects.get(variant=small, reason="initial"),
    ]
    assert "Torn seam" in changelist.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Torn seam" in html
    assert small.sku in html
    # Shown, not editable: no input for the note and no save button.
    assert page.context["has_change_permission"] is False
    assert 'name="note"' not in html
    assert 'name="_save"' not in html


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_nobody_adds_changes_or_deletes_a_movement(
    request: pytest.FixtureRequest, login: Callable[[User], Client], movement: StockMovement, user
):
    client = login(request.getfixturevalue(user))
    delete_url = reverse("admin:stock_stockmovement_delete", args=[movement.pk])
    row = {
        "variant": str(movement.variant_id),
        "delta": "-4",
        "quantity_after": "0",
        "reason": "lost",
        "actor_kind": "user",
        "actor": "someone else",
        "note": "rewritten",
        "reference": "",
        "created_at_0": "2024-01-01",
        "created_at_1": "00:00:00",
    }
    before = _everything()

    statuses = {
        "add page": client.get(MOVEMENT_ADD).status_code,
        "add": client.post(MOVEMENT_ADD, row).status_code,
        "change": client.post(admin_url("change", movement), row).status_code,
        "delete page": client.get(delete_url).status_code,
        "delete": client.post(delete_url, {"post": "yes"}).status_code,
    }

    assert statuses == dict.fromkeys(statuses, 403)
    assert _everything() == before
    movement.refresh_from_db()
    assert (movement.delta, movement.note, movement.actor) == (-1, "Torn seam", "manager")


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_the_ledger_offers_no_delete_action(
    request: pytest.FixtureRequest, login: Callable[[User], Client], movement: StockMovement, user
):
    client = login(request.getfixturevalue(user))
    before = _everything()

    changelist = client.get(MOVEMENTS)
    forced = client.post(
        MOVEMENTS,
        {"action": "delete_selected", "_selected_action": [movement.pk], "post": "yes"},
    )

    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None
    assert "delete_selected" not in changelist.content.decode()
    assert forced.status_code == 200
    assert _everything() == before


def test_the_ledger_shows_and_filters_by_location_and_shows_committed_units(
    manager_web: Client, small: Variant, place_order: PlaceOrder
):
    store = location_create(code="STORE-01", name="High Street", kind="store")
    received = stock_services.stock_adjust(
        variant_id=small.pk, delta=2, reason="received", actor=TEST_ACTOR, location=store
    )
    order = place_order((small, 3))  # at MAIN: commits 3 of its 5

    everything = manager_web.get(MOVEMENTS)
    at_store = manager_web.get(MOVEMENTS, {"location__id__exact": store.pk})

    placed = StockMovement.objects.get(reason="order_placed")
    assert list(everything.context["cl"].result_list) == [
        placed,
        received,
        StockMovement.objects.get(variant=small, reason="initial"),
    ]
    assert list(at_store.context["cl"].result_list) == [received]
    html = everything.content.decode()
    row = html.split(admin_url("change", placed), 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="field-([a-z_]+)[^"]*">([^<]*)</td>', row)
    assert cells == [
        ("variant", small.sku + " (S-M)"),
        ("location_code", "MAIN"),
        ("reason", "Order placed (committed)"),
        ("signed_delta", "+0"),
        ("quantity_after", "5"),
        ("signed_committed_delta", "+3"),
        ("committed_after", "3"),
        ("signed_incoming_delta", "0"),
        ("incoming_after", "0"),
        ("actor", "web-shop"),
        ("reference", order.number),
        ("short_note", "-"),
    ]
    # The location filter lists every location.
    assert [
        choice["display"]
        for choice in everything.context["cl"].filter_specs[0].choices(everything.context["cl"])
    ] == ["All", "MAIN (Main stock)", "STORE-01 (High Street)"]
