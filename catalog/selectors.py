"""Reads of the catalog. Each selector owns the joins and prefetches its callers need, so that no
serializer runs a query per row."""

from collections.abc import Iterable

from django.db.models import (
    Case,
    IntegerField,
    Prefetch,
    QuerySet,
    Value,
    When,
)

from catalog.models import IssuedSku, Product, Size, Variant

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
    # Through the ledger's reverse relation: the catalog reads it without importing stock.
    return set(
        Variant.objects.filter(pk__in=variant_ids, movements__isnull=False)
        .order_by()
        .values_list("pk", flat=True)
        .distinct()
    )
