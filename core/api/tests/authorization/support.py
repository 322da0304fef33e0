"""The data every case starts from, and a client for each kind of caller."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from catalog.models import Product, Variant
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create, api_key_revoke
from core.api.tests.authorization.access import (
    ANONYMOUS,
    CATALOG_KEY,
    EXPIRED_KEY,
    INACTIVE_MANAGER,
    MANAGER,
    NON_STAFF,
    NON_STAFF_MANAGER,
    ORDER_VIEWER,
    ORDERS_KEY,
    OTHER_ORDERS_KEY,
    READ_KEY,
    REPORTS_KEY,
    REVOKED_KEY,
    STAFF_NO_GROUP,
    STOCK_KEY,
    STORE_STAFF,
    SUPERUSER,
    UNKNOWN_KEY,
    WEBHOOKS_KEY,
)
from events.models import Delivery, Event, WebhookEndpoint
from orders.models import Order
from orders.services import LineRequest, order_place
from stock.models import CountSession, Location, Transfer


@dataclass
class World:
    product: Product  # with stock and history: it cannot be deleted
    spare: Product  # without stock or history: it can
    small: Variant  # 10 units opened, minus what the orders below took
    large: Variant  # no stock, no history: it can be deleted
    owner: ApiKey
    owner_raw: str
    other: ApiKey
    other_raw: str
    placed: Order  # the owner's
    paid: Order  # the owner's
    fulfilled: Order  # the owner's
    others_order: Order  # another client's
    staff_order: Order  # placed by a staff user at the till
    store: Location  # active, empty, not the default: it can be archived
    draft: Transfer  # MAIN to DEPOT, one unit of small
    shipped: Transfer  # MAIN to DEPOT, one unit of small on its way
    count: CountSession  # open, at a shop of its own (one holding the tee's stock)
    hook: WebhookEndpoint  # subscribed to everything
    event: Event
    failed_delivery: Delivery  # of the event to the hook: it can be redelivered


def _place(actor: Any, variant: Variant, *, reference: str) -> Order:
    return order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=1)],
        actor=actor,
        customer_reference=reference,
    )


def _key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def _new_key(*scopes: str, name: str, **kwargs: Any) -> APIClient:
    return _key_client(api_key_create(name=name, scopes=scopes, **kwargs)[1])


def _revoked_key() -> APIClient:
    api_key, raw_key = api_key_create(name="revoked", scopes=Scope.values)
    api_key_revoke(api_key=api_key)
    return _key_client(raw_key)


def _session(
    username: str,
    *,
    group: str | None = None,
    permission: str | None = None,
    is_staff: bool = True,
    **kwargs: Any,
) -> APIClient:
    user = User.objects.create_user(username, password="pw", is_staff=is_staff, **kwargs)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if permission:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = APIClient()
    client.force_login(user)
    return client


def _superuser() -> APIClient:
    client = APIClient()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


CALLERS: dict[str, Callable[[World], APIClient]] = {
    ANONYMOUS: lambda w: APIClient(),
    UNKNOWN_KEY: lambda w: _key_client("00000000.not-a-key-anyone-was-given"),
    REVOKED_KEY: lambda w: _revoked_key(),
    EXPIRED_KEY: lambda w: _new_key(
        *Scope.values, name="expired", expires_at=timezone.now() - timedelta(seconds=1)
    ),
    READ_KEY: lambda w: _new_key(name="reader"),
    CATALOG_KEY: lambda w: _new_key(Scope.CATALOG_WRITE, name="back-office"),
    STOCK_KEY: lambda w: _new_key(Scope.STOCK_WRITE, name="warehouse"),
    REPORTS_KEY: lambda w: _new_key(Scope.REPORTS_READ, name="dashboard"),
    WEBHOOKS_KEY: lambda w: _new_key(Scope.WEBHOOKS_MANAGE, name="integrations"),
    ORDERS_KEY: lambda w: _key_client(w.owner_raw),
    OTHER_ORDERS_KEY: lambda w: _key_client(w.other_raw),
    STORE_STAFF: lambda w: _session("clerk", group=STORE_STAFF_GROUP),
    MANAGER: lambda w: _session("manager", group=MANAGER_GROUP),
    ORDER_VIEWER: lambda w: _session("order-viewer", permission="orders.view_order"),
    STAFF_NO_GROUP: lambda w: _session("plain-staff"),
    NON_STAFF: lambda w: _session("customer", is_staff=False),
    NON_STAFF_MANAGER: lambda w: _session("ex-manager", group=MANAGER_GROUP, is_staff=False),
    INACTIVE_MANAGER: lambda w: _session("gone", group=MANAGER_GROUP, is_active=False),
    SUPERUSER: lambda w: _superuser(),
}


def make_caller(caller: str, world: World) -> APIClient:
    return CALLERS[caller](world)


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of the project's own tables, so that any change shows."""
    models = [
        model
        for label in ("catalog", "stock", "orders", "api", "events")
        for model in apps.get_app_config(label).get_models()
    ]
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values()) for model in models
    }
