"""Stock changes: the ledger's row is written from the server's facts, whatever the body
names, and the server's own reasons cannot be claimed."""

from typing import Any

import pytest

from core.api.tests.mass_assignment.support import (
    LONG_AGO,
    VARIANTS,
    World,
    assert_recent,
    assert_refused,
    changes,
    rows,
)
from stock.models import MovementReason
from stock.selectors import location_default

pytestmark = pytest.mark.django_db

LEDGER_FIELDS = {
    "id": 1,
    "variant": "other",
    "product": "other",
    "sku": "OTHER",
    "quantity_after": 500,
    "actor": "the-boss",
    "actor_kind": "system",
    "user": "staff",
    "api_key": "other",
    "created_at": LONG_AGO,
}


def _ledger_fields(world: World) -> dict[str, Any]:
    replacements = {
        "variant": world.other_small.pk,
        "product": world.other_product.pk,
        "user": world.staff.pk,
        "api_key": world.other.pk,
    }
    return {name: replacements.get(name, value) for name, value in LEDGER_FIELDS.items()}


@pytest.mark.parametrize(
    ("action", "body", "delta", "reason"),
    [
        ("adjust", {"delta": 4, "reason": "received"}, 4, MovementReason.RECEIVED),
        # A count sets what is on the shelf: 8 there, 2 of them committed.
        ("count", {"quantity": 3}, 3 - 8, MovementReason.COUNT_CORRECTION),
    ],
)
def test_a_stock_change_writes_the_ledger_from_the_server_s_facts(
    world, client, action, body, delta, reason
):
    # Given 6 units available: 10, less the three orders' 1 + 2 + 1; 8 on hand (the fulfilled
    # order's 2 left), 2 of them committed to the two orders still placed
    world.small.refresh_from_db()
    start = world.small.quantity
    assert (start, world.small.committed) == (6, 2)
    on_hand = start + world.small.committed
    url = f"{VARIANTS}{world.small.pk}/{action}/"
    before = rows()

    stuffing = _ledger_fields(world)
    assert_refused(client.post(url, {**stuffing, **body}), before, stuffing)

    response = client.post(url, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {"catalog.Variant", "stock.StockLevel", "stock.StockMovement"}
    assert list(diff["catalog.Variant"].changed) == [world.small.pk]
    assert diff["catalog.Variant"].changed[world.small.pk]["quantity"] == (start, start + delta)
    [level_id] = diff["stock.StockLevel"].changed
    assert diff["stock.StockLevel"].changed[level_id]["on_hand"] == (on_hand, on_hand + delta)
    [movement] = diff["stock.StockMovement"].added
    assert {
        name: movement[name]
        for name in (
            "variant_id",
            "product_id",
            "location_id",
            "delta",
            "quantity_after",
            "committed_delta",
            "committed_after",
            "reason",
            "actor_kind",
            "actor",
            "user_id",
            "api_key_id",
        )
    } == {
        "variant_id": world.small.pk,
        "product_id": world.product.pk,
        "location_id": location_default().pk,
        "delta": delta,
        "quantity_after": on_hand + delta,
        "committed_delta": 0,
        "committed_after": 2,
        "reason": reason,
        "actor_kind": "api_key",
        "actor": "web-shop",
        "user_id": None,
        "api_key_id": world.shop.pk,
    }
    assert_recent(movement["created_at"])


@pytest.mark.parametrize(
    "reason",
    [
        MovementReason.INITIAL,
        MovementReason.ORDER_PLACED,
        MovementReason.SALE,
        MovementReason.ORDER_CANCELLED,
        MovementReason.COUNT_CORRECTION,
    ],
)
def test_the_server_s_own_ledger_reasons_cannot_be_claimed(world, client, reason):
    before = rows()

    response = client.post(f"{VARIANTS}{world.small.pk}/adjust/", {"delta": 1, "reason": reason})

    assert_refused(response, before, {"reason": None})
