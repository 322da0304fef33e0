"""The floor's writes: an order and a stock adjustment, with the API's guarantees (see
bench/floor.py)."""

import os
import secrets
from decimal import Decimal

from bench.floor_base import (
    CURRENCY,
    JSON,
    MAX_QUANTITY,
    NUMBER_ALPHABET,
    VARIANT_COLUMNS,
    HttpError,
    db,
    money,
    variant_full,
    when,
)


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
