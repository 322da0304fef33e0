"""The hot read paths' JSON, built from ``values()`` rows instead of model instances and
serializer fields.

A list of 100 products with their variants spent about 40% of its time building model
instances and 40% in DRF's serializer fields (the benchmark's profile). These functions give the
same representation as ``ProductOutputSerializer`` and ``VariantOutputSerializer`` (which still
document it in the schema, and render the answers of writes); a test compares them field by
field, so the two cannot drift apart.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from catalog.models import Product, Size, Variant

PRODUCT_COLUMNS = (
    "id",
    "category",
    "name",
    "color",
    "price",
    "collection",
    "is_active",
    "created_at",
    "updated_at",
)
VARIANT_SUMMARY_COLUMNS = ("id", "size", "sku", "barcode", "quantity", "in_stock", "low_stock")
VARIANT_COLUMNS = (
    *VARIANT_SUMMARY_COLUMNS,
    "product_id",
    "product__name",
    "low_stock_threshold",
    "created_at",
    "updated_at",
)
# Sizes smallest first, as on a shop's size picker (and as selectors.SIZE_ORDER sorts).
_SIZE_RANK = {size: rank for rank, size in enumerate(Size.values)}


def timestamp(value: datetime.datetime) -> str:
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as ``Z``."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def _variant_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in VARIANT_SUMMARY_COLUMNS}


def _fetch(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _raw_sql() -> bool:
    """Plain SQL for the hottest reads on PostgreSQL, where psycopg hands back the columns as
    Python wants them (SQLite's need Django's converters, so it keeps the ORM): the ORM's
    compiling of each query cost about a third of a product detail's time."""
    return connection.vendor == "postgresql"


def variants_by_product(product_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The variants of these products, smallest size first: one query."""
    ids = list(product_ids)
    rows: Iterable[dict[str, Any]]
    if not ids:
        rows = []
    elif _raw_sql():
        rows = _fetch(
            f"SELECT product_id, {', '.join(VARIANT_SUMMARY_COLUMNS)} "  # noqa: S608 - constant names
            f"FROM {Variant._meta.db_table} WHERE product_id = ANY(%s)",
            [ids],
        )
    else:
        rows = Variant.objects.filter(product_id__in=ids).values(
            "product_id", *VARIANT_SUMMARY_COLUMNS
        )
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["product_id"], _SIZE_RANK[r["size"]], r["id"])):
        grouped[row["product_id"]].append(_variant_summary(row))
    return grouped


def products(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Products (``values(*PRODUCT_COLUMNS)`` rows) with their variants embedded."""
    variants = variants_by_product(row["id"] for row in rows)
    currency = settings.STORE_CURRENCY
    return [
        {
            "id": row["id"],
            "category": row["category"],
            "name": row["name"],
            "color": row["color"],
            "price": money(row["price"]),
            "currency": currency,
            "collection": row["collection"],
            "is_active": row["is_active"],
            "variants": variants.get(row["id"], []),
            "created_at": timestamp(row["created_at"]),
            "updated_at": timestamp(row["updated_at"]),
        }
        for row in rows
    ]


def product_rows(queryset: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    return cast("QuerySet[Product, dict[str, Any]]", queryset.values(*PRODUCT_COLUMNS))


def one(rows: QuerySet[Any, dict[str, Any]], pk: str) -> dict[str, Any]:
    """The row with this primary key, or 404 (as DRF's ``get_object`` says it)."""
    row: dict[str, Any] | None
    # The plain-SQL path reads the table by id: only for rows no filter narrowed.
    if _raw_sql() and rows.model is Product and not rows.query.where:
        found = _fetch(
            f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM {Product._meta.db_table} WHERE id = %s",  # noqa: S608 - constant names
            [int(pk)],
        )
        row = found[0] if found else None
    else:
        row = rows.filter(pk=pk).first()
    if row is None:
        raise Http404(f"No {rows.model._meta.object_name} matches the given query.")
    return row


def variants(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Variants (``values(*VARIANT_COLUMNS)`` rows) with their product's id and name."""
    return [
        {
            **_variant_summary(row),
            "product": row["product_id"],
            "product_name": row["product__name"],
            "low_stock_threshold": row["low_stock_threshold"],
            "created_at": timestamp(row["created_at"]),
            "updated_at": timestamp(row["updated_at"]),
        }
        for row in rows
    ]


def variant_rows(queryset: QuerySet[Variant]) -> QuerySet[Variant, dict[str, Any]]:
    return cast("QuerySet[Variant, dict[str, Any]]", queryset.values(*VARIANT_COLUMNS))
