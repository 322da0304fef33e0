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
# A variant's stock as the API shows it: available (quantity), in stock, low, committed; on hand
# is available + committed. Over every location from the variant's own columns, or at one
# location from its level there (none: nothing there).
SUMMARY_COLUMNS = "v.id, v.size, v.sku, v.barcode, v.quantity, v.in_stock, v.low_stock, v.committed"
_AVAILABLE_HERE = "COALESCE(l.on_hand - l.committed, 0)"
SUMMARY_COLUMNS_HERE = (
    f"v.id, v.size, v.sku, v.barcode, {_AVAILABLE_HERE}, {_AVAILABLE_HERE} > 0, "
    f"{_AVAILABLE_HERE} <= v.low_stock_threshold, COALESCE(l.committed, 0)"
)
# Joined as ``l`` by the reads at a location.
LEVEL_HERE = "LEFT JOIN stock_stocklevel l ON l.variant_id = v.id AND l.location_id = %s"
VARIANT_COLUMNS = (
    f"{SUMMARY_COLUMNS}, v.product_id, p.name, v.low_stock_threshold, v.created_at, v.updated_at"
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
        "on_hand": row[4] + row[7],
        "committed": row[7],
    }


def variant_full(row: TupleRow) -> JSON:
    data = variant_summary(row)
    data.update(
        product=row[8],
        product_name=row[9],
        low_stock_threshold=row[10],
        created_at=when(row[11]),
        updated_at=when(row[12]),
    )
    return data


_default_location: tuple[int, str] | None = None


def default_location() -> tuple[int, str]:
    """The id and code of the location where a change that names none happens (as the API's)."""
    global _default_location  # one per process: the default does not move during a run
    if _default_location is None:
        row = db().execute("SELECT id, code FROM stock_location WHERE is_default").fetchone()
        if row is None:
            raise HttpError("500 Internal Server Error", "server_error")
        _default_location = (int(row[0]), str(row[1]))
    return _default_location


def location_of(code: str) -> int:
    """The id of the active location ``code`` names (in any case); 400 for any other, as the
    API answers."""
    row = (
        db()
        .execute(
            "SELECT id, is_active FROM stock_location WHERE code = %s", (code.strip().upper(),)
        )
        .fetchone()
    )
    if row is None or not row[1]:
        raise HttpError("400 Bad Request", "validation_error")
    return int(row[0])
