"""The ledger in the admin: visible, never writable, for everyone (superusers included)."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.tests.admin_stock_support import MOVEMENTS, _everything
from catalog.tests.support import admin_url
from core.actors import user_actor
from stock import services as stock_services
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
