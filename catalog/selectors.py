"""Reads of the catalog. Each selector owns the joins and prefetches its callers need, so that no
serializer runs a query per row."""

from collections.abc import Iterable

from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from catalog.models import IssuedSku, Product, Size, Variant
from stock.models import StockMovement

# Sizes read smallest first, as on a shop's size picker.
SIZE_ORDER = Case(
    *(When(size=size, then=Value(rank)) for rank, size in enumerate(Size.values)),
    output_field=IntegerField(),
)


def variant_list() -> QuerySet[Variant]:
    return Variant.objects.select_related("product")


def product_list() -> QuerySet[Product]:
    variants = Prefetch("variants", queryset=Variant.objects.order_by(SIZE_ORDER, "id"))
    return Product.objects.prefetch_related(variants)  # type: ignore[arg-type]


def product_get(*, product_id: int) -> Product:
    return product_list().get(pk=product_id)


def variant_get(*, variant_id: int) -> Variant:
    return variant_list().get(pk=variant_id)


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
    return set(
        StockMovement.objects.filter(variant_id__in=variant_ids)
        .order_by()
        .values_list("variant_id", flat=True)
        .distinct()
    )


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first, with each movement's variant (for its SKU)."""
    return StockMovement.objects.select_related("variant").order_by("-id")


def low_stock_variants() -> QuerySet[Variant]:
    """Variants of active products at or below their low-stock threshold, emptiest first."""
    return (
        variant_list()
        .filter(low_stock=True, product__is_active=True)
        .order_by("quantity", "product__name", "id")
    )


def stock_drift() -> QuerySet[Variant]:
    """Variants whose quantity is not the sum of their movements: the ledger's invariant
    broken (by a write that went around the stock service). Should always be empty."""
    ledger = (
        StockMovement.objects.filter(variant=OuterRef("pk"))
        .order_by()
        .values("variant")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    return (
        Variant.objects.annotate(ledger_total=Coalesce(Subquery(ledger), 0))
        .exclude(quantity=F("ledger_total"))
        .select_related("product")
        .order_by("id")
    )
