"""The world of the authorization tests: products, client apps' and staff's orders in each
status."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User

from catalog.groups import STORE_STAFF_GROUP
from catalog.models import Product
from core.actors import system_actor, user_actor
from core.api.authentication import api_key_actor
from core.api.models import Scope
from core.api.services import api_key_create
from core.api.tests.authorization.support import World, _place
from events.models import Delivery
from events.services import emit, endpoint_create
from orders.services import order_transition
from stock.counts import count_start
from stock.locations import location_create
from stock.models import Transfer
from stock.selectors import location_default
from stock.services import stock_adjust
from stock.transfers import TransferLineRequest, transfer_create, transfer_ship


@pytest.fixture
def world(make_product: Callable[..., Product]) -> World:
    product = make_product(name="Tee", stock={"S-M": 10, "L-XL": 0})
    spare = make_product(name="Spare", color="Sand", stock={"S-M": 0})
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    owner, owner_raw = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    other, other_raw = api_key_create(name="other-shop", scopes=[Scope.ORDERS_WRITE])
    shop = api_key_actor(owner)
    placed = _place(shop, small, reference="web-1")
    paid = _place(shop, small, reference="web-2")
    order_transition(order_id=paid.pk, action="pay", actor=shop)
    fulfilled = _place(shop, small, reference="web-3")
    for action in ("pay", "fulfil"):
        order_transition(order_id=fulfilled.pk, action=action, actor=shop)
    others_order = _place(api_key_actor(other), small, reference="other-1")
    till = User.objects.create_user("till", password="pw", is_staff=True)
    till.groups.add(Group.objects.get(name=STORE_STAFF_GROUP))
    staff_order = _place(user_actor(till), small, reference="till-1")
    depot = location_create(code="DEPOT", name="Depot", kind="warehouse")

    def transfer() -> Transfer:
        return transfer_create(
            from_location=location_default(),
            to_location=depot,
            lines=[TransferLineRequest(variant_id=small.pk, quantity=1)],
            actor=user_actor(till),
        )

    draft, shipped = transfer(), transfer()
    transfer_ship(transfer_id=shipped.pk, actor=user_actor(till))
    hook = endpoint_create(url="https://93.184.216.34/hooks", events=["*"])
    event = emit("product.updated", {"id": product.pk})
    failed = Delivery.objects.create(
        event=event, endpoint=hook, status="failed", attempts=7, next_attempt_at=None
    )
    return World(
        product=product,
        spare=spare,
        small=small,
        large=large,
        owner=owner,
        owner_raw=owner_raw,
        other=other,
        other_raw=other_raw,
        placed=placed,
        paid=paid,
        fulfilled=fulfilled,
        others_order=others_order,
        staff_order=staff_order,
        store=location_create(code="STORE-01", name="Shop", kind="store"),
        draft=draft,
        shipped=shipped,
        count=_count_session(small),
        hook=hook,
        event=event,
        failed_delivery=failed,
    )


def _count_session(variant):
    """An open count session at a shop of its own, which holds 3 of ``variant``."""
    counted = location_create(code="STORE-09", name="Counted shop", kind="store")
    clerk = system_actor("clerk")
    stock_adjust(variant_id=variant.pk, delta=3, reason="received", actor=clerk, location=counted)
    return count_start(location=counted, actor=clerk)
