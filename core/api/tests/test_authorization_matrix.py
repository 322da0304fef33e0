"""Who may do what: every endpoint against every kind of caller.

One table (``ACCESS``) says, for each caller, what each access rule answers: the endpoint's own
success status (``OK``) or a refusal. Each endpoint names its rule and its success status, and
``test_each_caller_gets_exactly_what_it_should`` runs every endpoint for every caller: the status,
the error envelope's code, and a database that a refusal (or a read) left exactly as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from catalog.models import Product, Variant
from core.actors import user_actor
from core.api.authentication import api_key_actor
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create, api_key_revoke
from orders.models import Order
from orders.services import LineRequest, order_place, order_transition
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

# Callers

ANONYMOUS = "anonymous"
UNKNOWN_KEY = "unknown key"
REVOKED_KEY = "revoked key"
EXPIRED_KEY = "expired key"
READ_KEY = "read key"
CATALOG_KEY = "catalog:write key"
STOCK_KEY = "stock:write key"
REPORTS_KEY = "reports:read key"
ORDERS_KEY = "orders:write key"  # the client app that placed the orders under test
OTHER_ORDERS_KEY = "another client's orders:write key"
STORE_STAFF = "Store staff"
MANAGER = "Manager"
ORDER_VIEWER = "staff who may only view orders"
STAFF_NO_GROUP = "staff without groups"
NON_STAFF = "non-staff user"
NON_STAFF_MANAGER = "non-staff user in Manager"  # e.g. taken off staff, groups left behind
INACTIVE_MANAGER = "deactivated Manager"
SUPERUSER = "superuser"

OK = "ok"  # the endpoint's success status

# Access rules
PUBLIC = "public"
CATALOG_READ = "catalog read"
CATALOG_WRITE = "catalog write"
STOCK_WRITE = "stock write"
LEDGER_READ = "ledger read"
ORDERS = "orders"  # the orders' list, and what no one may do to an order whoever owns it
ORDER_READ = "order read"
ORDER_CREATE = "order create"
ORDER_MOVE = "order move"
ORDER_RETURN = "order return"
SALES = "sales"

RULES = (
    PUBLIC,
    CATALOG_READ,
    CATALOG_WRITE,
    STOCK_WRITE,
    LEDGER_READ,
    ORDERS,
    ORDER_READ,
    ORDER_CREATE,
    ORDER_MOVE,
    ORDER_RETURN,
    SALES,
)

ACCESS: dict[str, tuple[int | str, ...]] = {
    #                  public catalog catalog stock ledger orders order order  order order  sales
    #                         read    write   write read          read  create move  return
    ANONYMOUS:         (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401),
    UNKNOWN_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401),
    REVOKED_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401),
    EXPIRED_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401),
    READ_KEY:          (OK,   OK,     403,    403,  403,   403,   403,  403,   403,  403,   403),
    CATALOG_KEY:       (OK,   OK,     OK,     403,  403,   403,   403,  403,   403,  403,   403),
    STOCK_KEY:         (OK,   OK,     403,    OK,   OK,    403,   403,  403,   403,  403,   403),
    REPORTS_KEY:       (OK,   OK,     403,    403,  403,   403,   403,  403,   403,  403,   OK),
    ORDERS_KEY:        (OK,   OK,     403,    403,  403,   OK,    OK,   OK,    OK,   OK,    403),
    OTHER_ORDERS_KEY:  (OK,   OK,     403,    403,  403,   OK,    404,  OK,    404,  404,   403),
    STORE_STAFF:       (OK,   OK,     403,    OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK),
    MANAGER:           (OK,   OK,     OK,     OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK),
    ORDER_VIEWER:      (OK,   403,    403,    403,  403,   OK,    OK,   403,   403,  403,   OK),
    STAFF_NO_GROUP:    (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403),
    NON_STAFF:         (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403),
    NON_STAFF_MANAGER: (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403),
    INACTIVE_MANAGER:  (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401),
    SUPERUSER:         (OK,   OK,     OK,     OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK),
}  # fmt: skip

# Without credentials the answer is "not_authenticated"; with a key that is not good, it is
# "authentication_failed". A deactivated user's session no longer authenticates anyone.
NO_CREDENTIALS = ("not_authenticated", "Authentication credentials were not provided.")
UNAUTHENTICATED = {
    ANONYMOUS: NO_CREDENTIALS,
    INACTIVE_MANAGER: NO_CREDENTIALS,
    UNKNOWN_KEY: ("authentication_failed", "Invalid API key."),
    REVOKED_KEY: ("authentication_failed", "This API key has been revoked."),
    EXPIRED_KEY: ("authentication_failed", "This API key has expired."),
}
SAFE_METHODS = ("get", "head", "options")
REFUSAL_CODES = {403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


# The data every case starts from


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


def _place(actor: Any, variant: Variant, *, reference: str) -> Order:
    return order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=1)],
        actor=actor,
        customer_reference=reference,
    )


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


# The endpoints


@dataclass(frozen=True)
class Endpoint:
    name: str
    rule: str
    method: str
    path: Callable[[World], str]
    ok: int
    body: Callable[[World], dict[str, Any]] | None = None


P = "/api/v1/products/"
V = "/api/v1/variants/"
M = "/api/v1/stock-movements/"
ORD = "/api/v1/orders/"
REPORTS = "/api/v1/reports/"

PRODUCT_BODY = {
    "category": "Tees",
    "name": "Linen Tee",
    "color": "Sand",
    "price": "35.00",
    "collection": "SS25",
}

ENDPOINTS = [
    # Products
    Endpoint("products list", CATALOG_READ, "get", lambda w: P, 200),
    Endpoint("products options", CATALOG_READ, "options", lambda w: P, 200),
    Endpoint("products detail", CATALOG_READ, "get", lambda w: f"{P}{w.product.pk}/", 200),
    Endpoint(
        "products create",
        CATALOG_WRITE,
        "post",
        lambda w: P,
        201,
        lambda w: {**PRODUCT_BODY, "variants": [{"size": "S-M", "quantity": 2}]},
    ),
    Endpoint(
        "products update",
        CATALOG_WRITE,
        "put",
        lambda w: f"{P}{w.product.pk}/",
        200,
        lambda w: {**PRODUCT_BODY, "name": "Renamed Tee"},
    ),
    Endpoint(
        "products partial update",
        CATALOG_WRITE,
        "patch",
        lambda w: f"{P}{w.product.pk}/",
        200,
        lambda w: {"price": "31.00"},
    ),
    Endpoint("products delete", CATALOG_WRITE, "delete", lambda w: f"{P}{w.spare.pk}/", 204),
    # Variants
    Endpoint("variants list", CATALOG_READ, "get", lambda w: V, 200),
    Endpoint("variants detail", CATALOG_READ, "get", lambda w: f"{V}{w.small.pk}/", 200),
    Endpoint(
        "variants create",
        CATALOG_WRITE,
        "post",
        lambda w: V,
        201,
        lambda w: {"product": w.spare.pk, "size": "L-XL", "quantity": 3},
    ),
    Endpoint(
        "variants update",
        CATALOG_WRITE,
        "put",
        lambda w: f"{V}{w.small.pk}/",
        200,
        lambda w: {"barcode": "4006381333931", "low_stock_threshold": 4},
    ),
    Endpoint(
        "variants partial update",
        CATALOG_WRITE,
        "patch",
        lambda w: f"{V}{w.small.pk}/",
        200,
        lambda w: {"low_stock_threshold": 7},
    ),
    Endpoint("variants delete", CATALOG_WRITE, "delete", lambda w: f"{V}{w.large.pk}/", 204),
    Endpoint(
        "variants adjust",
        STOCK_WRITE,
        "post",
        lambda w: f"{V}{w.small.pk}/adjust/",
        201,
        lambda w: {"delta": 3, "reason": "received"},
    ),
    Endpoint(
        "variants count",
        STOCK_WRITE,
        "post",
        lambda w: f"{V}{w.small.pk}/count/",
        201,
        lambda w: {"quantity": 9},
    ),
    Endpoint(
        "variants movements", LEDGER_READ, "get", lambda w: f"{V}{w.small.pk}/movements/", 200
    ),
    # The stock ledger: read-only even for those who may read it
    Endpoint("stock-movements list", LEDGER_READ, "get", lambda w: M, 200),
    Endpoint(
        "stock-movements detail",
        LEDGER_READ,
        "get",
        lambda w: f"{M}{StockMovement.objects.earliest('pk').pk}/",
        200,
    ),
    Endpoint("stock-movements create", LEDGER_READ, "post", lambda w: M, 405, lambda w: {}),
    Endpoint(
        "stock-movements delete",
        LEDGER_READ,
        "delete",
        lambda w: f"{M}{StockMovement.objects.earliest('pk').pk}/",
        405,
    ),
    # Orders: never changed or deleted but by their actions
    Endpoint("orders list", ORDERS, "get", lambda w: ORD, 200),
    Endpoint("orders detail", ORDER_READ, "get", lambda w: f"{ORD}{w.placed.pk}/", 200),
    Endpoint(
        "orders create",
        ORDER_CREATE,
        "post",
        lambda w: ORD,
        201,
        lambda w: {"lines": [{"variant": w.small.pk, "quantity": 1}]},
    ),
    Endpoint("orders pay", ORDER_MOVE, "post", lambda w: f"{ORD}{w.placed.pk}/pay/", 200),
    Endpoint("orders fulfil", ORDER_MOVE, "post", lambda w: f"{ORD}{w.paid.pk}/fulfil/", 200),
    Endpoint("orders cancel", ORDER_MOVE, "post", lambda w: f"{ORD}{w.placed.pk}/cancel/", 200),
    Endpoint(
        "orders returns",
        ORDER_RETURN,
        "post",
        lambda w: f"{ORD}{w.fulfilled.pk}/returns/",
        201,
        lambda w: {"lines": [{"line": w.fulfilled.lines.get().pk, "quantity": 1}]},
    ),
    Endpoint(
        "orders update",
        ORDERS,
        "put",
        lambda w: f"{ORD}{w.placed.pk}/",
        405,
        lambda w: {"status": "paid"},
    ),
    Endpoint(
        "orders partial update",
        ORDERS,
        "patch",
        lambda w: f"{ORD}{w.placed.pk}/",
        405,
        lambda w: {"status": "paid"},
    ),
    Endpoint("orders delete", ORDERS, "delete", lambda w: f"{ORD}{w.placed.pk}/", 405),
    # Describing an order's endpoint does not look the order up
    Endpoint("orders detail options", ORDERS, "options", lambda w: f"{ORD}{w.placed.pk}/", 200),
    # Reports: the stock's value is sums of what every catalog reader sees; sales are not
    Endpoint("reports stock-value", CATALOG_READ, "get", lambda w: f"{REPORTS}stock-value/", 200),
    Endpoint("reports sales", SALES, "get", lambda w: f"{REPORTS}sales/", 200),
    Endpoint("reports sales post", SALES, "post", lambda w: f"{REPORTS}sales/", 405, lambda w: {}),
    # Public: credentials, good or bad, are not even looked at
    Endpoint("schema", PUBLIC, "get", lambda w: "/api/schema/", 200),
    Endpoint("docs", PUBLIC, "get", lambda w: "/api/docs/", 200),
    Endpoint("redoc", PUBLIC, "get", lambda w: "/api/redoc/", 200),
    Endpoint("healthz", PUBLIC, "get", lambda w: "/healthz", 200),
    Endpoint("readyz", PUBLIC, "get", lambda w: "/readyz", 200),
]


class Outcome(NamedTuple):
    status: int
    code: str | None  # the error envelope's code, for a refusal
    message: str | None  # the envelope's message, for a refused authentication
    wrote: bool  # whether the database changed


def expected_outcome(endpoint: Endpoint, caller: str) -> Outcome:
    rule = ACCESS[caller][RULES.index(endpoint.rule)]
    status = endpoint.ok if rule == OK else int(rule)
    if status == 401:
        return Outcome(401, UNAUTHENTICATED[caller][0], UNAUTHENTICATED[caller][1], wrote=False)
    return Outcome(
        status,
        code=REFUSAL_CODES.get(status),
        message=None,
        wrote=status < 300 and endpoint.method not in SAFE_METHODS,
    )


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of the project's own tables, so that any change shows."""
    models = [
        model
        for label in ("catalog", "stock", "orders", "api")
        for model in apps.get_app_config(label).get_models()
    ]
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values()) for model in models
    }


def call(caller: str, endpoint: Endpoint, world: World) -> Outcome:
    """Call the endpoint as the caller, inside a savepoint rolled back afterwards, so that every
    caller meets the same world."""
    with transaction.atomic():
        client = make_caller(caller, world)
        before = database_state()
        send = getattr(client, endpoint.method)
        if endpoint.body is None:
            response = send(endpoint.path(world))
        else:
            response = send(endpoint.path(world), endpoint.body(world), format="json")
        wrote = database_state() != before
        transaction.set_rollback(True)

    if response.status_code < 400:
        return Outcome(response.status_code, code=None, message=None, wrote=wrote)
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}, (caller, error)
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == "Api-Key", caller
        return Outcome(401, error["code"], error["message"], wrote)
    return Outcome(response.status_code, error["code"], message=None, wrote=wrote)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[endpoint.name for endpoint in ENDPOINTS])
def test_each_caller_gets_exactly_what_it_should(world, endpoint):
    # Given the same world for every caller; when each calls the endpoint
    actual = {caller: call(caller, endpoint, world) for caller in ACCESS}

    # Then each gets the status and error code of the table; refusals and reads change nothing
    assert actual == {caller: expected_outcome(endpoint, caller) for caller in ACCESS}


def test_the_table_is_complete():
    assert set(CALLERS) == set(ACCESS)
    assert set(UNAUTHENTICATED) == {caller for caller, row in ACCESS.items() if 401 in row}
    assert all(len(row) == len(RULES) for row in ACCESS.values())
    assert {endpoint.rule for endpoint in ENDPOINTS} == set(RULES)


def _api_routes() -> set[tuple[str, str]]:
    """``(method, url name)`` of every route under /api/v1/, viewsets' and plain views'."""
    routes: set[tuple[str, str]] = set()
    for include in get_resolver().url_patterns:
        if not isinstance(include, URLResolver) or str(include.pattern) != "api/v1/":
            continue
        for url in include.url_patterns:
            assert isinstance(url, URLPattern)
            actions = getattr(url.callback, "actions", None)
            if actions is None:
                view_class = url.callback.view_class  # type: ignore[attr-defined]  # as_view() sets it
                methods = {
                    m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
                }
            else:
                methods = set(actions) - {"head"}
            routes |= {(method, str(url.name)) for method in methods}
    return routes


def test_the_matrix_covers_every_route_of_the_api(world):
    """A new endpoint or action must join the matrix: every route under /api/v1/ is in it."""
    routes = _api_routes()
    covered = {(endpoint.method, resolve(endpoint.path(world)).url_name) for endpoint in ENDPOINTS}

    assert {("post", "order-returns"), ("get", "report-sales")} <= routes  # the routes were read
    assert routes - covered == set()


# Lists never include another client's objects


def _all_order_ids(client: APIClient, query: dict[str, str]) -> list[int]:
    """Every order of the list, following the cursor one order per page."""
    ids: list[int] = []
    response = client.get(ORD, {**query, "page_size": "1"})
    while True:
        assert response.status_code == 200, response.json()
        ids.extend(order["id"] for order in response.json()["results"])
        if not response.json()["next"]:
            return ids
        response = client.get(response.json()["next"])


def _visible(caller: str, world: World) -> list[int]:
    if caller == ORDERS_KEY:
        return [world.fulfilled.pk, world.paid.pk, world.placed.pk]
    if caller == OTHER_ORDERS_KEY:
        return [world.others_order.pk]
    return [*_visible(OTHER_ORDERS_KEY, world), *_visible(ORDERS_KEY, world), world.staff_order.pk]


LISTERS = [ORDERS_KEY, OTHER_ORDERS_KEY, STORE_STAFF, MANAGER, ORDER_VIEWER, SUPERUSER]


@pytest.mark.parametrize("caller", LISTERS)
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "placed"},
        {"status": "fulfilled"},
        {"customer_reference": "web-1"},
        {"customer_reference": "other-1"},
        {"customer_reference": "till-1"},
    ],
    ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "all",
)
def test_an_order_list_holds_the_caller_s_orders_and_no_other(world, caller, query):
    client = make_caller(caller, world)
    visible = _visible(caller, world)
    expected = list(
        Order.objects.filter(pk__in=visible, **query).order_by("-pk").values_list("pk", flat=True)
    )

    assert _all_order_ids(client, query) == expected
    assert set(expected) <= set(visible)


@pytest.mark.parametrize("caller", LISTERS)
@pytest.mark.parametrize("parameter", ["api_key", "user", "placed_by", "owner"])
def test_an_order_list_cannot_be_asked_for_someone_else_s_orders(world, caller, parameter):
    """Parameters that would name an owner are refused, never quietly honoured."""
    client = make_caller(caller, world)
    owner = {"api_key": world.other.pk, "user": 1, "placed_by": "other-shop", "owner": "x"}

    response = client.get(ORD, {parameter: owner[parameter]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_another_client_s_order_is_answered_as_if_it_did_not_exist(world):
    """404 with the very body of a missing order: nothing tells an order of another client
    from no order at all."""
    client = make_caller(OTHER_ORDERS_KEY, world)
    missing = Order.objects.order_by("-pk").first().pk + 1000
    before = database_state()
    for action, body in [
        ("", None),
        ("pay/", None),
        ("fulfil/", None),
        ("cancel/", None),
        ("returns/", {"lines": [{"line": world.fulfilled.lines.get().pk, "quantity": 1}]}),
    ]:
        method = client.get if not action else client.post
        for order in (world.placed, world.paid, world.fulfilled, world.staff_order):
            theirs = method(f"{ORD}{order.pk}/{action}", body, format="json")
            nobody_s = method(f"{ORD}{missing}/{action}", body, format="json")
            assert (theirs.status_code, theirs.json()) == (404, nobody_s.json()), (action, order)
    assert database_state() == before


def test_an_idempotency_key_is_never_replayed_to_another_client(world):
    """Two clients that happen to pick the same Idempotency-Key each get their own order."""
    body = {"lines": [{"variant": world.small.pk, "quantity": 1}]}
    first = make_caller(ORDERS_KEY, world).post(
        ORD, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1"
    )
    second = make_caller(OTHER_ORDERS_KEY, world).post(
        ORD, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert Order.objects.get(pk=second.json()["id"]).api_key == world.other


def test_a_return_cannot_name_another_order_s_line(world):
    """The line ids of a return are looked up in that order only, not among every line."""
    client = make_caller(ORDERS_KEY, world)
    others_line = world.others_order.lines.get()
    before = database_state()

    response = client.post(
        f"{ORD}{world.fulfilled.pk}/returns/",
        {"lines": [{"line": others_line.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == {
        "lines": [{"line": ["This order has no such line."]}]
    }
    assert database_state() == before


def test_a_key_works_until_revoked_and_not_a_request_longer(world):
    client = make_caller(ORDERS_KEY, world)
    assert client.get(ORD).status_code == 200

    api_key_revoke(api_key=world.owner)

    response = client.get(ORD)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
