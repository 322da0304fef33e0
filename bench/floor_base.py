"""What the floor's reads and writes share: its connection, its JSON and its columns (see
bench/floor.py)."""

import importlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import TupleRow

JSON = dict[str, Any]
MAX_QUANTITY = 1_000_000
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
