"""The benchmark's database: created afresh, migrated, and filled with a fixed catalog.

The catalog goes in with COPY, not through the services, so that 20,000 products take seconds.
It is what the services would have written: every SKU is claimed in ``catalog_issuedsku``,
barcodes are EAN-13s with a valid check digit, every variant that holds stock has its level at
the default location (``MAIN``, which the migrations make) and its ``initial`` movement there,
and every other product's variants hold a few units at a shop too (``STORE-01``), received
there, so ``manage.py reconcile_stock`` finds no drift (the run checks it).
"""

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

CATEGORIES = (("Tees", "TEE"), ("Sweaters", "SWT"), ("Pants", "PNT"))
SIZES = (("S-M", "SM"), ("L-XL", "LXL"), ("One Size", "OS"))
COLLECTIONS = ("FW24", "SS25", "FW25", "SS26")
COLORS = ("Black", "White", "Navy", "Sand", "Olive", "Grey", "Rust", "Cream")
# Every tenth product is sold out in every size (the in-stock filter has something to drop);
# the others hold plenty at MAIN, so that no order of the run ever finds a variant short.
SOLD_OUT_EVERY = 10
STOCK = 100_000
# The shop that the reads at a location ask about: every other product (of those in stock)
# has a few units of each size there, received from a delivery.
STORE = "STORE-01"
STORE_EVERY = 2
STORE_STOCK = 20
# Fixed creation times (a product a minute), so that every run lists the same pages.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SCOPES = ["catalog:write", "stock:write", "orders:write", "reports:read", "webhooks:manage"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    raw: str


def recreate_database(server_url: str, name: str) -> None:
    """Drop ``name`` (closing whatever is still connected to it) and create it empty."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def ean13(number: int) -> str:
    """A valid EAN-13 in the in-store range (prefix 20) for ``number``."""
    body = f"20{number:010d}"
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def variant_id(product_id: int, size_index: int) -> int:
    return (product_id - 1) * len(SIZES) + size_index + 1


def _products(first: int, count: int) -> Iterator[tuple[object, ...]]:
    for pid in range(first, first + count):
        category = CATEGORIES[pid % len(CATEGORIES)][0]
        color = COLORS[pid % len(COLORS)]
        created = EPOCH + timedelta(minutes=pid)
        price = Decimal("19.90") + Decimal("1.25") * (pid % 40)
        name = f"{color} {category.rstrip('s')} {pid}"
        yield (pid, category, name, color, price, COLLECTIONS[pid % 4], True, created, created)


def _sku(pid: int, size_index: int) -> str:
    code = CATEGORIES[pid % len(CATEGORIES)][1]
    return f"{code}-{COLLECTIONS[pid % 4]}-{pid:05d}-{SIZES[size_index][1]}"


def sku_of(vid: int) -> str:
    """The SKU the seed gives variant ``vid``."""
    return _sku((vid - 1) // len(SIZES) + 1, (vid - 1) % len(SIZES))


def quantity_of(pid: int) -> int:
    """Units of each of the product's variants at MAIN."""
    return 0 if pid % SOLD_OUT_EVERY == 0 else STOCK


def store_quantity_of(pid: int) -> int:
    """Units of each of the product's variants at the shop."""
    return STORE_STOCK if quantity_of(pid) and pid % STORE_EVERY == 0 else 0


def location_ids(conn: psycopg.Connection[TupleRow]) -> tuple[int, int]:
    """The ids of the default location and of the shop, which is made on first use."""
    default = conn.execute("SELECT id FROM stock_location WHERE is_default").fetchone()
    store = conn.execute(
        "INSERT INTO stock_location (code, name, kind, is_active, is_default, created_at, "
        "updated_at) VALUES (%s, 'The shop', 'store', true, false, %s, %s) "
        "ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id",
        (STORE, EPOCH, EPOCH),
    ).fetchone()
    assert default is not None  # noqa: S101  # the migrations make MAIN
    assert store is not None  # noqa: S101  # INSERT ... RETURNING
    return int(default[0]), int(store[0])


def seed_catalog(conn: psycopg.Connection[TupleRow], *, first: int, count: int) -> None:
    """Products ``first`` to ``first + count - 1``, each with its three variants, their SKUs
    claimed, their levels and the movements that explain them, in one transaction."""
    main, store = location_ids(conn)
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(
            "COPY catalog_product (id, category, name, color, price, collection, is_active, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for row in _products(first, count):
                copy.write_row(row)
        with cur.copy(
            "COPY catalog_variant (id, product_id, size, sku, barcode, quantity, committed, "
            "low_stock_threshold, created_at, updated_at) FROM STDIN"
        ) as copy:
            for pid in range(first, first + count):
                created = EPOCH + timedelta(minutes=pid)
                for index, (size, _) in enumerate(SIZES):
                    vid = variant_id(pid, index)
                    copy.write_row(
                        (
                            vid,
                            pid,
                            size,
                            _sku(pid, index),
                            ean13(vid),
                            quantity_of(pid) + store_quantity_of(pid),
                            0,
                            2,
                            created,
                            created,
                        )
                    )
        with cur.copy("COPY catalog_issuedsku (sku, issued_at) FROM STDIN") as copy:
            for pid in range(first, first + count):
                for index in range(len(SIZES)):
                    copy.write_row((_sku(pid, index), EPOCH + timedelta(minutes=pid)))
        # (location, units, reason) of each product's variants: opened at MAIN, delivered to
        # the shop.
        stocked = [
            (pid, location, quantity, reason)
            for pid in range(first, first + count)
            for location, quantity, reason in (
                (main, quantity_of(pid), "initial"),
                (store, store_quantity_of(pid), "received"),
            )
            if quantity
        ]
        with cur.copy(
            "COPY stock_stocklevel (variant_id, location_id, on_hand, committed, incoming, "
            "updated_at) FROM STDIN"
        ) as copy:
            for pid, location, quantity, _ in stocked:
                for index in range(len(SIZES)):
                    at = EPOCH + timedelta(minutes=pid)
                    copy.write_row((variant_id(pid, index), location, quantity, 0, 0, at))
        with cur.copy(
            "COPY catalog_stockmovement (variant_id, product_id, location_id, delta, "
            "quantity_after, committed_delta, committed_after, incoming_delta, incoming_after, "
            "reason, actor_kind, actor, note, reference, created_at) FROM STDIN"
        ) as copy:
            for pid, location, quantity, reason in stocked:
                for index in range(len(SIZES)):
                    copy.write_row(
                        (
                            variant_id(pid, index),
                            pid,
                            location,
                            quantity,
                            quantity,
                            0,
                            0,
                            0,
                            0,
                            reason,
                            "system",
                            "bench seed",
                            "",
                            "",
                            EPOCH + timedelta(minutes=pid),
                        )
                    )
        for table in ("catalog_product", "catalog_variant"):
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), max(id)) FROM {i}"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
    conn.execute("ANALYZE")


def create_api_key(conn: psycopg.Connection[TupleRow], *, name: str = "bench") -> ApiKey:
    """A key with every scope, stored as the app stores keys: its SHA-256 digest only."""
    prefix = secrets.token_hex(4)
    raw = f"{prefix}.{secrets.token_urlsafe(32)}"
    digest = hashlib.sha256(raw.encode()).hexdigest()
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO api_apikey (name, prefix, hashed_key, scopes, created_at) "
            "VALUES (%s, %s, %s, %s, now()) RETURNING id",
            (name, prefix, digest, Jsonb(SCOPES)),
        ).fetchone()
    assert row is not None  # noqa: S101  # INSERT ... RETURNING always returns the row
    return ApiKey(id=int(row[0]), name=name, raw=raw)


def stocked_variant_ids(conn: psycopg.Connection[TupleRow], *, limit: int) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM catalog_variant WHERE quantity > 0 ORDER BY id LIMIT %s", (limit,)
    ).fetchall()
    return [int(row[0]) for row in rows]
