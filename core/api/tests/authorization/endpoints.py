"""Every endpoint of the API, with its access rule, its success status and a body that
would succeed."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.api.tests.authorization.access import (
    CATALOG_READ,
    CATALOG_WRITE,
    LEDGER_READ,
    ORDER_CREATE,
    ORDER_MOVE,
    ORDER_READ,
    ORDER_RETURN,
    ORDERS,
    PUBLIC,
    SALES,
    STOCK_WRITE,
    WEBHOOKS,
)
from core.api.tests.authorization.support import World
from stock.models import StockMovement


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
LOC = "/api/v1/locations/"
LEVELS = "/api/v1/stock-levels/"
ORD = "/api/v1/orders/"
TR = "/api/v1/transfers/"
REPORTS = "/api/v1/reports/"
COUNTS = "/api/v1/counts/"
REPL = "/api/v1/replenishment/"
HOOKS = "/api/v1/webhooks/"
EVENTS = "/api/v1/events/"

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
    Endpoint(
        "variants level settings",
        STOCK_WRITE,
        "put",
        lambda w: f"{V}{w.small.pk}/levels/MAIN/",
        200,
        lambda w: {"low_stock_threshold": 1, "target": 5},
    ),
    # Replenishment: read as the stock levels are, drafted as stock is changed. This world has
    # no level to replenish (and a path here carries no query): past the permissions, a caller
    # is told what is missing (400); the answers themselves are tested with the endpoint.
    Endpoint("replenishment suggestion", CATALOG_READ, "get", lambda w: REPL, 400),
    Endpoint(
        "replenishment draft",
        STOCK_WRITE,
        "post",
        lambda w: REPL,
        400,
        lambda w: {"to": w.store.code, "from": "MAIN"},
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
    # Locations: read as the catalog is, managed as it is; archived, never deleted
    Endpoint("locations list", CATALOG_READ, "get", lambda w: LOC, 200),
    Endpoint("locations options", CATALOG_READ, "options", lambda w: LOC, 200),
    Endpoint("locations detail", CATALOG_READ, "get", lambda w: f"{LOC}{w.store.pk}/", 200),
    Endpoint(
        "locations create",
        CATALOG_WRITE,
        "post",
        lambda w: LOC,
        201,
        lambda w: {"code": "store-02", "name": "Second shop", "kind": "store"},
    ),
    Endpoint(
        "locations partial update",
        CATALOG_WRITE,
        "patch",
        lambda w: f"{LOC}{w.store.pk}/",
        200,
        lambda w: {"is_active": False},
    ),
    Endpoint(
        "locations make default",
        CATALOG_WRITE,
        "patch",
        lambda w: f"{LOC}{w.store.pk}/",
        200,
        lambda w: {"is_default": True},
    ),
    Endpoint(
        "locations update",
        CATALOG_WRITE,
        "put",
        lambda w: f"{LOC}{w.store.pk}/",
        405,
        lambda w: {"code": "STORE-01", "name": "Shop", "kind": "store"},
    ),
    Endpoint("locations delete", CATALOG_WRITE, "delete", lambda w: f"{LOC}{w.store.pk}/", 405),
    # Where the stock is: what every catalog reader sees, summed, per location; read-only
    Endpoint("stock-levels list", CATALOG_READ, "get", lambda w: LEVELS, 200),
    Endpoint("stock-levels create", CATALOG_READ, "post", lambda w: LEVELS, 405, lambda w: {}),
    # Transfers: read as the ledger is, drafted and moved by whoever changes stock
    Endpoint("transfers list", LEDGER_READ, "get", lambda w: TR, 200),
    Endpoint("transfers detail", LEDGER_READ, "get", lambda w: f"{TR}{w.draft.pk}/", 200),
    Endpoint(
        "transfers create",
        STOCK_WRITE,
        "post",
        lambda w: TR,
        201,
        lambda w: {
            "from_location": "MAIN",
            "to_location": "DEPOT",
            "lines": [{"variant": w.small.pk, "quantity": 1}],
        },
    ),
    Endpoint("transfers ship", STOCK_WRITE, "post", lambda w: f"{TR}{w.draft.pk}/ship/", 200),
    Endpoint(
        "transfers receive",
        STOCK_WRITE,
        "post",
        lambda w: f"{TR}{w.shipped.pk}/receive/",
        200,
        lambda w: {"lines": [{"line": w.shipped.lines.get().pk, "quantity": 1}]},
    ),
    Endpoint("transfers close", STOCK_WRITE, "post", lambda w: f"{TR}{w.shipped.pk}/close/", 200),
    Endpoint("transfers cancel", STOCK_WRITE, "post", lambda w: f"{TR}{w.shipped.pk}/cancel/", 200),
    Endpoint("transfers delete", STOCK_WRITE, "delete", lambda w: f"{TR}{w.draft.pk}/", 405),
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
    Endpoint(
        "orders create at a location, handed over",
        ORDER_CREATE,
        "post",
        lambda w: ORD,
        201,
        lambda w: {
            "lines": [{"variant": w.small.pk, "quantity": 1}],
            "location": "main",
            "fulfil": True,
        },
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
    # Counts: stock work, reads included
    Endpoint("counts list", STOCK_WRITE, "get", lambda w: COUNTS, 200),
    Endpoint(
        "counts create", STOCK_WRITE, "post", lambda w: COUNTS, 201, lambda w: {"location": "main"}
    ),
    Endpoint("counts detail", STOCK_WRITE, "get", lambda w: f"{COUNTS}{w.count.pk}/", 200),
    Endpoint(
        "counts lines",
        STOCK_WRITE,
        "post",
        lambda w: f"{COUNTS}{w.count.pk}/lines/",
        200,
        lambda w: {"sku": w.small.sku, "counted": 2},
    ),
    Endpoint("counts preview", STOCK_WRITE, "get", lambda w: f"{COUNTS}{w.count.pk}/preview/", 200),
    Endpoint("counts apply", STOCK_WRITE, "post", lambda w: f"{COUNTS}{w.count.pk}/apply/", 200),
    Endpoint("counts cancel", STOCK_WRITE, "post", lambda w: f"{COUNTS}{w.count.pk}/cancel/", 200),
    Endpoint("counts delete", STOCK_WRITE, "delete", lambda w: f"{COUNTS}{w.count.pk}/", 405),
    # Reports: the stock's value is sums of what every catalog reader sees; sales are not
    Endpoint("reports stock-value", CATALOG_READ, "get", lambda w: f"{REPORTS}stock-value/", 200),
    Endpoint("reports sales", SALES, "get", lambda w: f"{REPORTS}sales/", 200),
    Endpoint("reports sales post", SALES, "post", lambda w: f"{REPORTS}sales/", 405, lambda w: {}),
    # Webhooks and the events they send
    Endpoint("webhooks list", WEBHOOKS, "get", lambda w: HOOKS, 200),
    Endpoint("webhooks detail", WEBHOOKS, "get", lambda w: f"{HOOKS}{w.hook.pk}/", 200),
    Endpoint(
        "webhooks create",
        WEBHOOKS,
        "post",
        lambda w: HOOKS,
        201,
        lambda w: {"url": "https://93.184.216.34/other", "events": ["order.placed"]},
    ),
    Endpoint(
        "webhooks partial update",
        WEBHOOKS,
        "patch",
        lambda w: f"{HOOKS}{w.hook.pk}/",
        200,
        lambda w: {"description": "shop feed"},
    ),
    Endpoint(
        "webhooks update",
        WEBHOOKS,
        "put",
        lambda w: f"{HOOKS}{w.hook.pk}/",
        405,
        lambda w: {"url": "https://93.184.216.34/other", "events": ["*"]},
    ),
    Endpoint("webhooks delete", WEBHOOKS, "delete", lambda w: f"{HOOKS}{w.hook.pk}/", 204),
    Endpoint(
        "webhooks rotate secret",
        WEBHOOKS,
        "post",
        lambda w: f"{HOOKS}{w.hook.pk}/rotate-secret/",
        200,
    ),
    Endpoint(
        "webhooks deliveries", WEBHOOKS, "get", lambda w: f"{HOOKS}{w.hook.pk}/deliveries/", 200
    ),
    Endpoint(
        "webhooks redeliver",
        WEBHOOKS,
        "post",
        lambda w: f"{HOOKS}{w.hook.pk}/deliveries/{w.failed_delivery.pk}/redeliver/",
        200,
    ),
    Endpoint("events list", WEBHOOKS, "get", lambda w: EVENTS, 200),
    Endpoint("events detail", WEBHOOKS, "get", lambda w: f"{EVENTS}{w.event.uuid}/", 200),
    Endpoint("events create", WEBHOOKS, "post", lambda w: EVENTS, 405, lambda w: {}),
    # Public: credentials, good or bad, are not even looked at
    Endpoint("schema", PUBLIC, "get", lambda w: "/api/schema/", 200),
    Endpoint("docs", PUBLIC, "get", lambda w: "/api/docs/", 200),
    Endpoint("redoc", PUBLIC, "get", lambda w: "/api/redoc/", 200),
    Endpoint("healthz", PUBLIC, "get", lambda w: "/healthz", 200),
    Endpoint("readyz", PUBLIC, "get", lambda w: "/readyz", 200),
]
