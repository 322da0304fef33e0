"""The floor: the API's benchmarked endpoints as a bare WSGI app on psycopg, with no framework.

It answers the same JSON as the API (the run compares them before measuring) from the same
tables with plain SQL, so the API's throughput divided by the floor's says how much of what the
machine can do at all the API keeps. Deliberately left out, which is why it is a floor: API keys
(no authentication), throttling, request ids and the access log, input validation beyond what
the SQL needs, idempotency keys, security headers. Writes keep their guarantees: an order takes
its stock with the guarded ``UPDATE ... WHERE quantity >= n`` and writes the order, its line and
its ledger row in one transaction; an adjustment is a guarded update and its ledger row.

Run it as gunicorn runs the API: ``gunicorn bench.floor:application --config gunicorn.conf.py``
with ``FLOOR_DATABASE_URL``, ``FLOOR_API_KEY_ID`` and ``FLOOR_API_KEY_NAME`` (orders and
movements are recorded under the benchmark's key, as the API records them) and ``FLOOR_JSON``
(``orjson``, the default, or ``stdlib``).
"""

import importlib
import json
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.types import StartResponse, WSGIEnvironment

import psycopg
from psycopg.rows import TupleRow

JSON = dict[str, Any]
MAX_QUANTITY = 1_000_000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
CURRENCY = os.environ.get("STORE_CURRENCY", "EUR")
SIZE_RANK = "CASE size WHEN 'S-M' THEN 0 WHEN 'L-XL' THEN 1 WHEN 'One Size' THEN 2 END"
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _json_encoder() -> Callable[[Any], bytes]:
    if os.environ.get("FLOOR_JSON", "orjson") == "stdlib":
        return lambda data: json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    # Imported by name: orjson is optional (the run falls back to the stdlib floor without it).
    dumps: Callable[[Any], bytes] = importlib.import_module("orjson").dumps
    return dumps


dumps = _json_encoder()


class HttpError(Exception):
    def __init__(self, status: str, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


_connection: psycopg.Connection[TupleRow] | None = None


def db() -> psycopg.Connection[TupleRow]:
    """This worker's connection, opened on first use (after gunicorn forks), kept for good."""
    global _connection  # one per process, kept as CONN_MAX_AGE keeps the API's
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(
            os.environ["FLOOR_DATABASE_URL"], autocommit=True, options="-c TimeZone=UTC"
        )
    return _connection


def when(value: datetime | None) -> str | None:
    """As DRF writes times: ISO 8601, UTC as Z."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal) -> str:
    return f"{value:.2f}"


# Reads

PRODUCT_COLUMNS = "p.id, p.category, p.name, p.color, p.price, p.collection, p.is_active, p.created_at, p.updated_at"
SUMMARY_COLUMNS = "id, size, sku, barcode, quantity, in_stock, low_stock"
VARIANT_COLUMNS = (
    "v.id, v.size, v.sku, v.barcode, v.quantity, v.in_stock, v.low_stock, v.product_id, p.name, "
    "v.low_stock_threshold, v.created_at, v.updated_at"
)


def variant_summary(row: TupleRow) -> JSON:
    return {
        "id": row[0],
        "size": row[1],
        "sku": row[2],
        "barcode": row[3],
        "quantity": row[4],
        "in_stock": row[5],
        "low_stock": row[6],
    }


def variant_full(row: TupleRow) -> JSON:
    data = variant_summary(row)
    data.update(
        product=row[7],
        product_name=row[8],
        low_stock_threshold=row[9],
        created_at=when(row[10]),
        updated_at=when(row[11]),
    )
    return data


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


def products_with_variants(rows: list[TupleRow]) -> list[JSON]:
    if not rows:
        return []
    by_product: dict[int, list[JSON]] = {row[0]: [] for row in rows}
    variants = db().execute(
        f"SELECT product_id, {SUMMARY_COLUMNS} FROM catalog_variant "  # noqa: S608  # constants
        f"WHERE product_id = ANY(%s) ORDER BY {SIZE_RANK}, id",
        (list(by_product),),
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
    page = Page(environ, query)
    where = ["p.is_active"]
    params: list[Any] = []
    if "category" in query:
        where.append("p.category = ANY(%s)")
        params.append(query["category"])
    if query.get("in_stock", [""])[0] == "true":
        where.append(
            "EXISTS (SELECT 1 FROM catalog_variant v WHERE v.product_id = p.id AND v.in_stock)"
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
    return page.answer(count, number, products_with_variants(rows))


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


# Writes


def order_place(body: JSON) -> JSON:
    lines = sorted(
        ((int(line["variant"]), int(line["quantity"])) for line in body["lines"]),
        key=lambda line: line[0],
    )
    key_id, key_name = int(os.environ["FLOOR_API_KEY_ID"]), os.environ["FLOOR_API_KEY_NAME"]
    number = "SO-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(10))
    conn = db()
    with conn.transaction():
        found = {
            row[0]: row
            for row in conn.execute(
                "SELECT v.id, v.product_id, v.sku, v.size, p.name, p.price FROM catalog_variant v "
                "JOIN catalog_product p ON p.id = v.product_id WHERE v.id = ANY(%s) AND p.is_active",
                ([variant for variant, _ in lines],),
            )
        }
        if len(found) != len(lines):
            raise HttpError("400 Bad Request", "validation_error")
        after = {}
        for variant, quantity in lines:
            taken = conn.execute(
                "UPDATE catalog_variant SET quantity = quantity - %s, updated_at = now() "
                "WHERE id = %s AND quantity >= %s RETURNING quantity",
                (quantity, variant, quantity),
            ).fetchone()
            if taken is None:
                raise HttpError("409 Conflict", "insufficient_stock")
            after[variant] = taken[0]
        total = sum((found[v][5] * q for v, q in lines), start=Decimal("0.00"))
        order = conn.execute(
            "INSERT INTO orders_order (number, status, customer_reference, note, currency, total, "
            "api_key_id, placed_by, created_at, updated_at) "
            "VALUES (%s, 'placed', '', '', %s, %s, %s, %s, now(), now()) RETURNING id, created_at",
            (number, CURRENCY, total, key_id, key_name),
        ).fetchone()
        assert order is not None  # noqa: S101  # INSERT ... RETURNING
        order_lines = []
        for variant, quantity in lines:
            _, product_id, sku, size, name, price = found[variant]
            line = conn.execute(
                "INSERT INTO orders_orderline (order_id, variant_id, sku, product_name, size, "
                "quantity, unit_price, returned_quantity) VALUES (%s, %s, %s, %s, %s, %s, %s, 0) "
                "RETURNING id, line_total",
                (order[0], variant, sku, name, size, quantity, price),
            ).fetchone()
            assert line is not None  # noqa: S101  # INSERT ... RETURNING
            conn.execute(
                "INSERT INTO catalog_stockmovement (variant_id, product_id, delta, quantity_after, "
                "reason, actor_kind, actor, api_key_id, note, reference, created_at) "
                "VALUES (%s, %s, %s, %s, 'sale', 'api_key', %s, %s, '', %s, now())",
                (variant, product_id, -quantity, after[variant], key_name, key_id, number),
            )
            order_lines.append(
                {
                    "id": line[0],
                    "variant": variant,
                    "sku": sku,
                    "product_name": name,
                    "size": size,
                    "quantity": quantity,
                    "unit_price": money(price),
                    "line_total": money(line[1]),
                    "returned_quantity": 0,
                }
            )
    return {
        "id": order[0],
        "number": number,
        "status": "placed",
        "lines": order_lines,
        "total": money(total),
        "currency": CURRENCY,
        "customer_reference": "",
        "note": "",
        "created_at": when(order[1]),
        "paid_at": None,
        "fulfilled_at": None,
        "cancelled_at": None,
    }


def stock_adjust(variant_id: int, body: JSON) -> JSON:
    delta, reason = int(body["delta"]), str(body["reason"])
    note, reference = str(body.get("note", "")), str(body.get("reference", ""))
    key_id, key_name = int(os.environ["FLOOR_API_KEY_ID"]), os.environ["FLOOR_API_KEY_NAME"]
    conn = db()
    with conn.transaction():
        row = conn.execute(
            "UPDATE catalog_variant v SET quantity = v.quantity + %s, updated_at = now() "  # noqa: S608
            "FROM catalog_product p WHERE v.id = %s AND p.id = v.product_id "
            f"AND v.quantity + %s BETWEEN 0 AND %s RETURNING {VARIANT_COLUMNS}",
            (delta, variant_id, delta, MAX_QUANTITY),
        ).fetchone()
        if row is None:
            raise HttpError("409 Conflict", "insufficient_stock")
        movement = conn.execute(
            "INSERT INTO catalog_stockmovement (variant_id, product_id, delta, quantity_after, "
            "reason, actor_kind, actor, api_key_id, note, reference, created_at) "
            "VALUES (%s, %s, %s, %s, %s, 'api_key', %s, %s, %s, %s, now()) RETURNING id, created_at",
            (variant_id, row[7], delta, row[4], reason, key_name, key_id, note, reference),
        ).fetchone()
    assert movement is not None  # noqa: S101  # INSERT ... RETURNING
    return {
        "variant": variant_full(row),
        "movement": {
            "id": movement[0],
            "variant": variant_id,
            "sku": row[2],
            "delta": delta,
            "quantity_after": row[4],
            "reason": reason,
            "actor": key_name,
            "note": note,
            "reference": reference,
            "created_at": when(movement[1]),
        },
    }


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
