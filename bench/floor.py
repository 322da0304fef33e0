"""The floor: the API's benchmarked endpoints as a bare WSGI app on psycopg, with no framework.

It answers the same JSON as the API (the run compares them before measuring) from the same
tables with plain SQL, so the API's throughput divided by the floor's says how much of what the
machine can do at all the API keeps. Deliberately left out, which is why it is a floor: API keys
(no authentication), throttling, request ids and the access log, input validation beyond what
the SQL needs, idempotency keys, security headers. It reads what the API shows: a variant's
totals from its own columns (available as ``quantity``, ``committed``; on hand is their sum), and
at a location (``?location=``) its level there, through a join on the stock level. Writes keep
their guarantees: an order commits its units at the default location with the guarded
``UPDATE ... WHERE on_hand - committed >= n`` of the level and writes the order, its line and its
ledger row in one transaction; an adjustment is a guarded update of the level, the variant's
total and its ledger row (bench/floor_writes.py).

Run it as gunicorn runs the API: ``gunicorn bench.floor:application --config gunicorn.conf.py``
with ``FLOOR_DATABASE_URL``, ``FLOOR_API_KEY_ID`` and ``FLOOR_API_KEY_NAME`` (orders and
movements are recorded under the benchmark's key, as the API records them) and ``FLOOR_JSON``
(``orjson``, the default, or ``stdlib``).
"""

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.types import StartResponse, WSGIEnvironment

from psycopg.rows import TupleRow

from bench.floor_base import (
    CURRENCY,
    JSON,
    LEVEL_HERE,
    PRODUCT_COLUMNS,
    SIZE_RANK,
    SUMMARY_COLUMNS,
    SUMMARY_COLUMNS_HERE,
    VARIANT_COLUMNS,
    HttpError,
    db,
    dumps,
    location_of,
    money,
    variant_full,
    variant_summary,
    when,
)
from bench.floor_writes import order_place, stock_adjust

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

# Reads


def product(row: TupleRow, variants: list[JSON]) -> JSON:
    return {
        "id": row[0],
        "category": row[1],
        "name": row[2],
        "color": row[3],
        "price": money(row[4]),
        "currency": CURRENCY,
        "collection": row[5],
        "is_active": row[6],
        "variants": variants,
        "created_at": when(row[7]),
        "updated_at": when(row[8]),
    }


def products_with_variants(rows: list[TupleRow], location: int | None = None) -> list[JSON]:
    """The products with their variants, whose stock is over every location or at
    ``location``."""
    if not rows:
        return []
    by_product: dict[int, list[JSON]] = {row[0]: [] for row in rows}
    if location is None:
        variants = db().execute(
            f"SELECT v.product_id, {SUMMARY_COLUMNS} FROM catalog_variant v "  # noqa: S608  # constants
            f"WHERE v.product_id = ANY(%s) ORDER BY {SIZE_RANK}, v.id",
            (list(by_product),),
        )
    else:
        variants = db().execute(
            f"SELECT v.product_id, {SUMMARY_COLUMNS_HERE} FROM catalog_variant v {LEVEL_HERE} "  # noqa: S608  # constants
            f"WHERE v.product_id = ANY(%s) ORDER BY {SIZE_RANK}, v.id",
            (location, list(by_product)),
        )
    for variant in variants:
        by_product[variant[0]].append(variant_summary(variant[1:]))
    return [product(row, by_product[row[0]]) for row in rows]


def product_detail(product_id: int) -> JSON:
    row = (
        db()
        .execute(f"SELECT {PRODUCT_COLUMNS} FROM catalog_product p WHERE p.id = %s", (product_id,))  # noqa: S608
        .fetchone()
    )
    if row is None:
        raise HttpError("404 Not Found", "not_found")
    return products_with_variants([row])[0]


class Page:
    """``page`` and ``page_size`` as the API reads them, and its ``next``/``previous`` links."""

    def __init__(self, environ: WSGIEnvironment, query: dict[str, list[str]]) -> None:
        self.base = f"http://{environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO', '')}"
        self.query = query
        size = query.get("page_size", [""])[0]
        self.size = min(int(size), MAX_PAGE_SIZE) if size else DEFAULT_PAGE_SIZE
        self.number_text = query.get("page", ["1"])[0]

    def number(self, count: int) -> int:
        last = max(1, -(-count // self.size))
        number = last if self.number_text == "last" else int(self.number_text)
        if number > last:
            raise HttpError("404 Not Found", "not_found")
        return number

    def link(self, number: int | None) -> str | None:
        if number is None:
            return None
        query = {key: value for key, value in self.query.items() if key != "page"}
        if number > 1:
            query["page"] = [str(number)]
        return f"{self.base}?{urlencode(sorted(query.items()), doseq=True)}"

    def answer(self, count: int, number: int, results: list[JSON]) -> JSON:
        last = max(1, -(-count // self.size))
        return {
            "count": count,
            "next": self.link(number + 1 if number < last else None),
            "previous": self.link(number - 1 if number > 1 else None),
            "results": results,
        }


def product_list(environ: WSGIEnvironment, query: dict[str, list[str]]) -> JSON:
    """Products, by category, by the size and stock of one variant (``size``, ``in_stock=true``),
    at a location or over every location."""
    page = Page(environ, query)
    location = location_of(query["location"][0]) if "location" in query else None
    where = ["p.is_active"]
    params: list[Any] = []
    if "category" in query:
        where.append("p.category = ANY(%s)")
        params.append(query["category"])
    in_stock = query.get("in_stock", [""])[0] == "true"
    if in_stock or "size" in query:
        # One variant holds every condition (the API's "same variant" rule).
        join, variant = "", ["v.product_id = p.id"]
        if in_stock and location is not None:
            join = "JOIN stock_stocklevel l ON l.variant_id = v.id AND l.location_id = %s "
            params.append(location)
            variant.append("l.on_hand > l.committed")
        elif in_stock:
            variant.append("v.in_stock")
        if "size" in query:
            variant.append("v.size = %s")
            params.append(query["size"][0])
        where.append(
            f"EXISTS (SELECT 1 FROM catalog_variant v {join}WHERE {' AND '.join(variant)})"  # noqa: S608  # constants
        )
    condition = " AND ".join(where)
    count_row = (
        db()
        .execute(f"SELECT count(*) FROM catalog_product p WHERE {condition}", params)  # noqa: S608
        .fetchone()
    )
    count = count_row[0] if count_row else 0
    number = page.number(count)
    rows = (
        db()
        .execute(
            f"SELECT {PRODUCT_COLUMNS} FROM catalog_product p WHERE {condition} "  # noqa: S608
            "ORDER BY p.created_at DESC, p.id DESC LIMIT %s OFFSET %s",
            [*params, page.size, (number - 1) * page.size],
        )
        .fetchall()
    )
    return page.answer(count, number, products_with_variants(rows, location))


def variant_list(environ: WSGIEnvironment, query: dict[str, list[str]]) -> JSON:
    page = Page(environ, query)
    sku = query.get("sku", [""])[0].strip().upper()
    condition = "p.is_active AND v.sku = %s"
    count_row = (
        db()
        .execute(
            "SELECT count(*) FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id "  # noqa: S608
            f"WHERE {condition}",
            (sku,),
        )
        .fetchone()
    )
    count = count_row[0] if count_row else 0
    number = page.number(count)
    rows = db().execute(
        f"SELECT {VARIANT_COLUMNS} FROM catalog_variant v "  # noqa: S608
        f"JOIN catalog_product p ON p.id = v.product_id WHERE {condition} ORDER BY v.id "
        "LIMIT %s OFFSET %s",
        (sku, page.size, (number - 1) * page.size),
    )
    return page.answer(count, number, [variant_full(row) for row in rows])


# Routing


def route(environ: WSGIEnvironment) -> tuple[str, JSON]:
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    parts = path.strip("/").split("/")
    if method == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if path == "/healthz":
            return "200 OK", {"status": "ok"}
        if path == "/api/v1/products/":
            return "200 OK", product_list(environ, query)
        if len(parts) == 4 and parts[:3] == ["api", "v1", "products"] and parts[3].isdigit():
            return "200 OK", product_detail(int(parts[3]))
        if path == "/api/v1/variants/":
            return "200 OK", variant_list(environ, query)
    elif method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if path == "/api/v1/orders/":
            return "201 Created", order_place(body)
        if len(parts) == 5 and parts[:3] == ["api", "v1", "variants"] and parts[4] == "adjust":
            return "201 Created", stock_adjust(int(parts[3]), body)
    raise HttpError("404 Not Found", "not_found")


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    try:
        status, data = route(environ)
    except HttpError as error:
        status, data = error.status, {"error": {"code": error.code, "message": "", "details": {}}}
    except (KeyError, ValueError, TypeError):
        status = "400 Bad Request"
        data = {"error": {"code": "validation_error", "message": "", "details": {}}}
    body = dumps(data)
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
