"""The JSON of products and variants, defined once: every answer that shows one goes through
these functions, from ``values()`` rows (the reads) or from a model instance (the answers of
writes and stock changes: ``ProductOutputSerializer``, ``VariantOutputSerializer`` and
``VariantSummarySerializer`` hand their instances here). The serializers' declared fields only
document the answer in the schema; a test holds them to the keys built here.

The reads work from rows rather than instances: a list of 100 products with their variants spent
about 40% of its time building model instances and 40% in DRF's serializer fields (the
benchmark's profile).
"""

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import QuerySet
from django.db.models.query import BaseIterable
from django.http import Http404
from django.utils import timezone

from catalog import selectors, stock_port
from catalog.models import Product, Size, Variant
from core import shortcuts

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
# A variant's stock is read from ``VariantQuerySet.with_stock``'s annotations: its totals over
# every location, or its level at one, under the same names. On hand is available + committed.
VARIANT_SUMMARY_COLUMNS = (
    "id",
    "size",
    "sku",
    "barcode",
    "stock_quantity",
    "stock_in_stock",
    "stock_low_stock",
    "stock_committed",
)
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


# The names under which Django's current time zone is UTC all year round.
_UTC_ZONES = frozenset({"UTC", "Etc/UTC"})


def _zoned_timestamp(zone: datetime.tzinfo, value: datetime.datetime) -> str:
    text = timezone.localtime(value, zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _utc_timestamp(value: datetime.datetime) -> str:
    # The database's timestamps come in UTC: already what an answer in UTC shows.
    if value.tzinfo is datetime.UTC:
        return value.isoformat()[:-6] + "Z"
    return _zoned_timestamp(datetime.UTC, value)


def timestamp_writer() -> Callable[[datetime.datetime], str]:
    """``timestamp`` for the current time zone, which it looks up once (for a whole answer):
    the lookup per value was a seventh of a product list's time."""
    zone: datetime.tzinfo = timezone.get_current_timezone()  # or what activate() was given
    if zone is datetime.UTC or getattr(zone, "key", None) in _UTC_ZONES:
        return _utc_timestamp
    return lambda value: _zoned_timestamp(zone, value)


def timestamp(value: datetime.datetime) -> str:
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as ``Z``."""
    return timestamp_writer()(value)


def money(value: Decimal | str) -> str:
    # Text comes from PostgreSQL's own rendering of a numeric(…, 2): already "29.90".
    return value if isinstance(value, str) else f"{value:.2f}"


def _variant_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "size": row["size"],
        "sku": row["sku"],
        "barcode": row["barcode"],
        "quantity": row["stock_quantity"],
        "in_stock": row["stock_in_stock"],
        "low_stock": row["stock_low_stock"],
        "on_hand": row["stock_quantity"] + row["stock_committed"],
        "committed": row["stock_committed"],
    }


def raw_sql() -> bool:
    """Plain SQL for the hottest reads on PostgreSQL, where psycopg hands back the columns as
    Python wants them (SQLite's need Django's converters, so it keeps the ORM): the ORM's
    compiling of each query cost about a third of a product detail's time."""
    # docs/private-internals.md#catalog-sql
    return connection.vendor == "postgresql" and shortcuts.on("catalog-sql")


@functools.cache
def _native_loaders() -> tuple[int, type, type]:
    """The timestamptz oid with psycopg's loader for it, and psycopg's text loader."""
    from psycopg import adapters, pq
    from psycopg.types.string import TextLoader

    oid = adapters.types["timestamptz"].oid
    return oid, adapters.get_loader(oid, pq.Format.TEXT), TextLoader  # type: ignore[return-value]


def _load_timestamps_natively(cursor: Any) -> None:
    """Have this cursor read timestamps with psycopg's own loader (compiled, with psycopg's
    binary package) rather than Django's: Django's wraps psycopg's pure-Python one, at about
    3 µs a value, a tenth of a product list's time. psycopg's gives the same instants, in the
    session's time zone (Django's sets it), and ``timestamp`` writes them in the current one.
    Numerics come as text (see below)."""
    if not shortcuts.on("native-loaders"):  # docs/private-internals.md#native-loaders
        return
    oid, timestamp_loader, text_loader = _native_loaders()
    cursor.cursor.adapters.register_loader(oid, timestamp_loader)
    # Prices as PostgreSQL writes them (two decimals, the column's scale), which is what the
    # answer shows: no Decimal built and formatted again, per product.
    cursor.cursor.adapters.register_loader("numeric", text_loader)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        _load_timestamps_natively(cursor)
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


class _RowsIterable(BaseIterable):  # type: ignore[type-arg]
    """``values()`` rows as Django's ``ValuesIterable`` yields them, read in one fetch (these
    are pages) through a cursor that loads timestamps natively (see
    ``_load_timestamps_natively``): a page of 100 products in half the time. PostgreSQL only."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        queryset = self.queryset
        query = queryset.query
        try:
            sql, params = query.get_compiler(queryset.db).as_sql()
        except EmptyResultSet:
            return
        if query.selected:
            names = list(query.selected)
        else:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
        with connections[queryset.db].cursor() as cursor:
            _load_timestamps_natively(cursor)
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        for row in fetched:
            yield dict(zip(names, row, strict=True))


def _values(queryset: QuerySet[Any], columns: Sequence[str]) -> QuerySet[Any, dict[str, Any]]:
    rows = queryset.values(*columns)
    # docs/private-internals.md#catalog-rows
    if connection.vendor == "postgresql" and shortcuts.on("catalog-rows"):
        rows._iterable_class = _RowsIterable
    return rows


def variants_by_product(
    product_ids: Iterable[int], *, location_id: int | None = None
) -> dict[int, list[dict[str, Any]]]:
    """The variants of these products, smallest size first, with their stock over every
    location or at ``location_id`` (as ``VariantQuerySet.with_stock`` counts it): one query."""
    ids = list(product_ids)
    rows: Iterable[tuple[Any, ...]]
    if not ids:
        rows = []
    elif raw_sql() and location_id is None:
        rows = _fetch(
            "SELECT product_id, id, size, sku, barcode, quantity, in_stock, low_stock, committed "  # noqa: S608 - constant names
            f"FROM {Variant._meta.db_table} WHERE product_id = ANY(%s)",
            [ids],
        )
    elif raw_sql():
        # with_stock's LEFT JOIN, written out: no level there is nothing there.
        available = "COALESCE(l.on_hand - l.committed, 0)"
        rows = _fetch(
            f"SELECT v.product_id, v.id, v.size, v.sku, v.barcode, {available}, {available} > 0, "  # noqa: S608 - constant names
            f"{available} <= COALESCE(l.low_stock_threshold, v.low_stock_threshold), "
            "COALESCE(l.committed, 0) "
            f"FROM {Variant._meta.db_table} v LEFT JOIN {stock_port.level_model()._meta.db_table} l "
            "ON l.variant_id = v.id AND l.location_id = %s WHERE v.product_id = ANY(%s)",
            [location_id, ids],
        )
    else:
        rows = (
            Variant.objects.with_stock(location_id)
            .filter(product_id__in=ids)
            .values_list("product_id", *VARIANT_SUMMARY_COLUMNS)
        )
    return _summaries(rows)


def _summaries(rows: Iterable[tuple[Any, ...]]) -> dict[int, list[dict[str, Any]]]:
    """Variants' summaries by product, smallest size first, from tuples of the product's id and
    the ``VARIANT_SUMMARY_COLUMNS``."""
    rank = _SIZE_RANK
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # Tuples in the order of VARIANT_SUMMARY_COLUMNS, each turned into its dict once.
    for product_id, id_, size, sku, barcode, quantity, in_stock, low_stock, committed in sorted(
        rows, key=lambda r: (r[0], rank[r[2]], r[1])
    ):
        grouped[product_id].append(
            {
                "id": id_,
                "size": size,
                "sku": sku,
                "barcode": barcode,
                "quantity": quantity,
                "in_stock": in_stock,
                "low_stock": low_stock,
                "on_hand": quantity + committed,
                "committed": committed,
            }
        )
    return grouped


def products(
    rows: list[dict[str, Any]],
    *,
    variants: dict[int, list[dict[str, Any]]] | None = None,
    location_id: int | None = None,
) -> list[dict[str, Any]]:
    """Products (``values(*PRODUCT_COLUMNS)`` rows) with their variants embedded, their stock
    over every location or at ``location_id``: read in one query, unless given (as
    ``variants_by_product`` gives them)."""
    if variants is None:
        variants = variants_by_product((row["id"] for row in rows), location_id=location_id)
    currency = settings.STORE_CURRENCY
    stamp = timestamp_writer()
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
            "created_at": stamp(row["created_at"]),
            "updated_at": stamp(row["updated_at"]),
        }
        for row in rows
    ]


def product_rows(queryset: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    return _values(queryset, PRODUCT_COLUMNS)


def one(rows: QuerySet[Any, dict[str, Any]], pk: str) -> dict[str, Any]:
    """The row with this primary key, or 404 (as DRF's ``get_object`` says it)."""
    row: dict[str, Any] | None
    # The plain-SQL path reads the table by id: only for rows no filter narrowed.
    if raw_sql() and rows.model is Product and not rows.query.where:
        found = _fetch(
            f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM {Product._meta.db_table} WHERE id = %s",  # noqa: S608 - constant names
            [int(pk)],
        )
        row = dict(zip(PRODUCT_COLUMNS, found[0], strict=True)) if found else None
    else:
        row = rows.filter(pk=pk).first()
    if row is None:
        raise Http404(f"No {rows.model._meta.object_name} matches the given query.")
    return row


def variants(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Variants (``values(*VARIANT_COLUMNS)`` rows of a ``with_stock`` queryset) with their
    product's id and name."""
    stamp = timestamp_writer()
    return [
        {
            **_variant_summary(row),
            "product": row["product_id"],
            "product_name": row["product__name"],
            "low_stock_threshold": row["low_stock_threshold"],
            "created_at": stamp(row["created_at"]),
            "updated_at": stamp(row["updated_at"]),
        }
        for row in rows
    ]


def variant_rows(queryset: QuerySet[Variant]) -> QuerySet[Variant, dict[str, Any]]:
    """The rows of a ``VariantQuerySet.with_stock`` queryset that ``variants`` renders."""
    return _values(queryset, VARIANT_COLUMNS)


def with_levels(answer: dict[str, Any]) -> dict[str, Any]:
    """A variant's detail: its answer, and its stock at every active location (one query)."""
    levels = selectors.variant_levels(
        variant_id=answer["id"], low_stock_threshold=answer["low_stock_threshold"]
    )
    return {**answer, "levels": levels}


# The columns of VARIANT_COLUMNS as the plain-SQL lookup reads them: the product's name joined,
# the stock the variant's totals (what with_stock reads without a location).
_VARIANT_SQL_SOURCES = {
    "product__name": "p.name",
    "stock_quantity": "v.quantity",
    "stock_in_stock": "v.in_stock",
    "stock_low_stock": "v.low_stock",
    "stock_committed": "v.committed",
}
_VARIANT_SQL_COLUMNS = ", ".join(
    _VARIANT_SQL_SOURCES.get(column, f"v.{column}") for column in VARIANT_COLUMNS
)


def variant_rows_by_code(column: str, value: str) -> list[dict[str, Any]]:
    """The variant of an active product whose ``sku`` or ``barcode`` is ``value`` (both are
    unique: one row or none), as ``variant_rows`` gives it, in one plain query (see
    ``raw_sql``)."""
    if column not in ("sku", "barcode"):
        raise ValueError(f"Not a unique code of a variant: {column}")
    if not raw_sql():
        found = Variant.objects.with_stock().filter(**{column: value}, product__is_active=True)
        return list(variant_rows(found))
    rows = _fetch(
        f"SELECT {_VARIANT_SQL_COLUMNS} FROM {Variant._meta.db_table} v "  # noqa: S608 - constant names
        f"JOIN {Product._meta.db_table} p ON p.id = v.product_id "
        f"WHERE v.{column} = %s AND p.is_active",
        [value],
    )
    return [dict(zip(VARIANT_COLUMNS, row, strict=True)) for row in rows]


# From model instances: the answers of writes and stock changes, and the reads with the
# catalog-render shortcut off (docs/private-internals.md#catalog-render).


def _row(instance: Any, columns: Iterable[str]) -> dict[str, Any]:
    """An instance's values as ``values(*columns)`` gives them (``product__name`` follows the
    relation, which the instance's selector has joined)."""
    return {column: functools.reduce(getattr, column.split("__"), instance) for column in columns}


def _summary_row(variant: Variant) -> tuple[Any, ...]:
    return (variant.product_id, *_row(variant, VARIANT_SUMMARY_COLUMNS).values())


def product(instance: Product) -> dict[str, Any]:
    """A product, with its variants (prefetched with their stock: ``selectors.product_list``)."""
    summaries = _summaries(_summary_row(variant) for variant in instance.variants.all())
    return products([_row(instance, PRODUCT_COLUMNS)], variants=summaries)[0]


def variant_summary(instance: Variant) -> dict[str, Any]:
    """A variant as its product's answer embeds it."""
    return _summaries([_summary_row(instance)])[instance.product_id][0]


def variant(instance: Variant) -> dict[str, Any]:
    """A variant, with its product's name (joined) and its stock (annotated:
    ``selectors.variant_list``)."""
    return variants([_row(instance, VARIANT_COLUMNS)])[0]


def variant_detail(instance: Variant) -> dict[str, Any]:
    """A variant's detail: ``variant``, with its stock at every active location."""
    return with_levels(variant(instance))
