"""The floor's writes: an order and a stock adjustment, with the API's guarantees (see
bench/floor.py), at the default location as the API's (neither names one): an order commits its
units there (the level's guarded ``committed``, the variant's totals, an ``order_placed``
movement); an adjustment changes the units on hand there, never below those committed."""

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
    default_location,
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
    location, code = default_location()
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
            committed = conn.execute(
                "UPDATE stock_stocklevel SET committed = committed + %s, updated_at = now() "
                "WHERE variant_id = %s AND location_id = %s AND on_hand - committed >= %s "
                "RETURNING on_hand, committed, incoming",
                (quantity, variant, location, quantity),
            ).fetchone()
            if committed is None:
                raise HttpError("409 Conflict", "insufficient_stock")
            after[variant] = committed
            conn.execute(
                "UPDATE catalog_variant SET quantity = quantity - %s, committed = committed + %s, "
                "updated_at = now() WHERE id = %s",
                (quantity, quantity, variant),
            )
        total = sum((found[v][5] * q for v, q in lines), start=Decimal("0.00"))
        order = conn.execute(
            "INSERT INTO orders_order (number, status, customer_reference, note, location_id, "
            "currency, total, api_key_id, placed_by, created_at, updated_at) "
            "VALUES (%s, 'placed', '', '', %s, %s, %s, %s, %s, now(), now()) "
            "RETURNING id, created_at",
            (number, location, CURRENCY, total, key_id, key_name),
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
            on_hand, committed, incoming = after[variant]
            conn.execute(
                "INSERT INTO catalog_stockmovement (variant_id, product_id, location_id, delta, "
                "quantity_after, committed_delta, committed_after, incoming_delta, "
                "incoming_after, reason, actor_kind, actor, api_key_id, note, reference, "
                "created_at) VALUES (%s, %s, %s, 0, %s, %s, %s, 0, %s, 'order_placed', "
                "'api_key', %s, %s, '', %s, now())",
                (
                    variant,
                    product_id,
                    location,
                    on_hand,
                    quantity,
                    committed,
                    incoming,
                    key_name,
                    key_id,
                    number,
                ),
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
        "location": code,
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
    location, code = default_location()
    conn = db()
    with conn.transaction():
        level = conn.execute(
            "UPDATE stock_stocklevel SET on_hand = on_hand + %s, updated_at = now() "
            "WHERE variant_id = %s AND location_id = %s "
            "AND on_hand + %s BETWEEN committed AND %s RETURNING on_hand, committed, incoming",
            (delta, variant_id, location, delta, MAX_QUANTITY),
        ).fetchone()
        if level is None:
            raise HttpError("409 Conflict", "insufficient_stock")
        row = conn.execute(
            "UPDATE catalog_variant v SET quantity = v.quantity + %s, updated_at = now() "  # noqa: S608
            f"FROM catalog_product p WHERE v.id = %s AND p.id = v.product_id RETURNING {VARIANT_COLUMNS}",
            (delta, variant_id),
        ).fetchone()
        assert row is not None  # noqa: S101  # the level's variant
        movement = conn.execute(
            "INSERT INTO catalog_stockmovement (variant_id, product_id, location_id, delta, "
            "quantity_after, committed_delta, committed_after, incoming_delta, incoming_after, "
            "reason, actor_kind, actor, api_key_id, note, reference, created_at) VALUES (%s, "
            "%s, %s, %s, %s, 0, %s, 0, %s, %s, 'api_key', %s, %s, %s, %s, now()) "
            "RETURNING id, created_at",
            (
                variant_id,
                row[8],
                location,
                delta,
                level[0],
                level[1],
                level[2],
                reason,
                key_name,
                key_id,
                note,
                reference,
            ),
        ).fetchone()
    assert movement is not None  # noqa: S101  # INSERT ... RETURNING
    return {
        "variant": variant_full(row),
        "movement": {
            "id": movement[0],
            "variant": variant_id,
            "sku": row[2],
            "location": code,
            "delta": delta,
            "quantity_after": level[0],
            "on_hand_delta": delta,
            "on_hand_after": level[0],
            "committed_delta": 0,
            "committed_after": level[1],
            "incoming_delta": 0,
            "incoming_after": level[2],
            "reason": reason,
            "actor": key_name,
            "note": note,
            "reference": reference,
            "created_at": when(movement[1]),
        },
    }
