"""Reads of the catalog. Each selector owns the joins and prefetches its callers need, so that no
serializer runs a query per row."""

from collections.abc import Iterable
from typing import Any

from django.db.models import (
    Case,
    F,
    FilteredRelation,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from catalog import stock_port
from catalog.models import IssuedSku, Product, Size, Variant

# Sizes read smallest first, as on a shop's size picker.
SIZE_ORDER = Case(
    *(When(size=size, then=Value(rank)) for rank, size in enumerate(Size.values)),
    output_field=IntegerField(),
)


def variant_list(*, location_id: int | None = None) -> QuerySet[Variant]:
    """Variants with their product, and their stock over every location or at one
    (``VariantQuerySet.with_stock``)."""
    return Variant.objects.with_stock(location_id).select_related("product")


def product_list(*, location_id: int | None = None) -> QuerySet[Product]:
    """Products with their variants, smallest size first, each variant with its stock over
    every location or at one."""
    variants = Prefetch(
        "variants",
        queryset=Variant.objects.with_stock(location_id).order_by(SIZE_ORDER, "id"),
    )
    return Product.objects.prefetch_related(variants)  # type: ignore[arg-type]


def product_get(*, product_id: int) -> Product:
    return product_list().get(pk=product_id)


def variant_get(*, variant_id: int) -> Variant:
    return variant_list().get(pk=variant_id)


def variant_levels(*, variant_id: int, low_stock_threshold: int) -> list[dict[str, Any]]:
    """The variant's stock at every active location, by code: ``location`` (its code),
    ``on_hand``, ``committed``, ``available`` and ``incoming`` (by transfers), all 0 where it
    has no level; the
    ``low_stock_threshold`` and ``target`` that apply there (the level's own ``settings``, else
    the variant's threshold, given, and that threshold + 1) and whether it is ``low_stock``
    there. One query.

    Every active location, not only those with a level, so that the answer does not depend on
    whether an empty level happens to exist (one is left behind when a location sells out), and
    so that it agrees with a read at that location (``?location=``), which shows 0 there."""
    here = FilteredRelation("stock_levels", condition=Q(stock_levels__variant_id=variant_id))
    rows = (
        stock_port.location_model()
        ._default_manager.filter(is_active=True)
        .annotate(level=here)
        .order_by("code", "id")
        .values_list(
            "code",
            Coalesce(F("level__on_hand"), 0),
            Coalesce(F("level__committed"), 0),
            Coalesce(F("level__incoming"), 0),
            "level__low_stock_threshold",
            "level__target",
        )
    )
    levels = []
    for code, on_hand, committed, incoming, own_threshold, own_target in rows:
        threshold = low_stock_threshold if own_threshold is None else own_threshold
        levels.append(
            {
                "location": code,
                "on_hand": on_hand,
                "committed": committed,
                "available": on_hand - committed,
                "incoming": incoming,
                "low_stock_threshold": threshold,
                "target": max(own_target or 0, threshold + 1),
                "low_stock": on_hand - committed <= threshold,
                "settings": {"low_stock_threshold": own_threshold, "target": own_target},
            }
        )
    return levels


def issued_skus(skus: Iterable[str]) -> set[str]:
    """Those of ``skus`` that were ever issued (to a live or a deleted variant)."""
    skus = list(skus)
    if not skus:
        return set()
    return set(IssuedSku.objects.filter(sku__in=skus).values_list("sku", flat=True))


def barcodes_in_use(barcodes: Iterable[str], *, except_variant: int | None = None) -> set[str]:
    """Those of ``barcodes`` that a variant (other than ``except_variant``) has."""
    barcodes = list(barcodes)
    if not barcodes:
        return set()
    variants = Variant.objects.filter(barcode__in=barcodes)
    if except_variant is not None:
        variants = variants.exclude(pk=except_variant)
    return {barcode for barcode in variants.values_list("barcode", flat=True) if barcode}


def variant_ids_with_history(variant_ids: Iterable[int]) -> set[int]:
    """Those of the variants that have stock movements (and so can never be deleted)."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return set()
    # Through the ledger's reverse relation: the catalog reads it without importing stock.
    return set(
        Variant.objects.filter(pk__in=variant_ids, movements__isnull=False)
        .order_by()
        .values_list("pk", flat=True)
        .distinct()
    )
