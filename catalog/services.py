"""Writes to the catalog. The API, the admin and the management commands all call these, so a
rule holds whichever door the data comes through; the database constraints back every one."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import selectors, stock_port
from catalog.models import Category, IssuedSku, Product, Size, Variant
from catalog.stock_port import Location
from catalog.validators import normalize_code
from core.actors import Actor
from core.exceptions import Conflict, Protected
from events.services import emit

# The fields of a product that staff and clients set, in the order forms show them.
PRODUCT_FIELDS = ("category", "name", "color", "price", "collection", "is_active")
# A variant's product, size and SKU identify it on labels and receipts and never change; its
# quantity changes only through stock movements.
VARIANT_UPDATABLE_FIELDS = ("barcode", "low_stock_threshold")

SKU_TAKEN = "This SKU is taken, or was used by a deleted variant; SKUs are never reused."

DEFAULT_LOW_STOCK_THRESHOLD = 2

_Model = TypeVar("_Model", Product, Variant)

_CATEGORY_CODES = {Category.TEES: "TEE", Category.SWEATERS: "SWT", Category.PANTS: "PNT"}
# Short size codes for SKUs.
SIZE_CODES = {Size.S_M: "SM", Size.L_XL: "LXL", Size.ONE_SIZE: "OS"}


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """A variant to create together with its product."""

    size: str
    quantity: int = 0
    sku: str | None = None
    barcode: str | None = None
    low_stock_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD
    location: Location | None = None


@transaction.atomic
def product_create(
    *,
    category: str,
    name: str,
    color: str,
    price: Decimal,
    collection: str,
    actor: Actor,
    is_active: bool = True,
    variants: Iterable[VariantSpec] = (),
) -> Product:
    """Create a product and its variants, all or nothing. ``actor`` is recorded on the
    opening movement of each variant created with stock."""
    product = Product(
        category=category,
        name=name.strip(),
        color=color.strip(),
        price=price,
        collection=collection,
        is_active=is_active,
    )
    product.full_clean()
    product.save()
    emit("product.created", product_event_data(product))
    for spec in variants:
        variant_create(
            product=product,
            size=spec.size,
            quantity=spec.quantity,
            sku=spec.sku,
            barcode=spec.barcode,
            low_stock_threshold=spec.low_stock_threshold,
            location=spec.location,
            actor=actor,
        )
    return product


@transaction.atomic
def product_update(*, product: Product, data: Mapping[str, Any]) -> Product:
    """Change the given fields of a product; only those are written."""
    cleaned = {
        field: value.strip() if field in ("name", "color") and isinstance(value, str) else value
        for field, value in data.items()
    }
    product, changed = _update(product, cleaned, allowed=PRODUCT_FIELDS)
    if changed:
        archived = "is_active" in changed and not product.is_active
        emit(
            "product.archived" if archived else "product.updated",
            {**product_event_data(product), "changed": changed},
        )
    return product


def product_event_data(product: Product) -> dict[str, Any]:
    """What the product's events tell (its variants and stock have events of their own)."""
    return {
        "id": product.pk,
        "name": product.name,
        "category": str(product.category),
        "color": product.color,
        "collection": product.collection,
        "price": str(product.price),
        "is_active": product.is_active,
    }


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product and its variants, unless one of them holds stock."""
    # Lock the product first: a variant being added meanwhile needs a share lock on it, so it
    # waits, and cannot slip in between the check and the delete with stock of its own.
    locked = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
    variants = list(
        Variant.objects.select_for_update(of=("self",)).filter(product=locked).order_by("pk")
    )
    stocked = [variant.sku for variant in variants if variant.quantity > 0]
    if stocked:
        raise Protected(
            "This product still has stock and cannot be deleted; archive it instead.",
            details={"variants_with_stock": stocked},
        )
    kept = selectors.variant_ids_with_history(variant.pk for variant in variants)
    with_history = sorted(variant.sku for variant in variants if variant.pk in kept)
    if with_history:
        raise Protected(
            "This product has stock history and cannot be deleted; archive it instead.",
            details={"variants_with_history": with_history},
        )
    locked.delete()


@transaction.atomic
def variant_create(
    *,
    product: Product,
    size: str,
    quantity: int = 0,
    sku: str | None = None,
    barcode: str | None = None,
    low_stock_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD,
    location: Location | None = None,
    actor: Actor,
) -> Variant:
    """Create a variant with its opening quantity, on hand at ``location`` (the default one
    unless given; ``stock_port.location_for_stock`` finds one by code) and recorded as an
    ``initial`` movement there, by the stock app (``stock_port.stock_open``). Without a SKU, one
    is generated."""
    # Hold the product (foreign keys are checked only at commit): a concurrent delete of the
    # product waits for this variant, then sees its stock and refuses.
    Product.objects.select_for_update(no_key=True, of=("self",)).filter(pk=product.pk).get()
    variant = Variant(
        product=product,
        size=size,
        quantity=quantity,
        sku=normalize_code(sku) if sku and sku.strip() else "",
        barcode=barcode.strip() if barcode and barcode.strip() else None,
        low_stock_threshold=low_stock_threshold,
    )
    if variant.sku:
        # The claim decides who gets a SKU, not a look first: full_clean's unique check would
        # tell a writer that lost the race after the winner committed something else (400)
        # than one that lost it before (409). The other unique fields are checked after it.
        variant.full_clean(validate_unique=False)
        _sku_issue(variant.sku)
        variant.validate_unique()
    else:
        variant.full_clean(exclude=["sku"])
        variant.sku = _sku_issue_generated(product=product, size=size)
    variant.save()
    stock_port.stock_open([variant], actor=actor, location=location)
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, data: Mapping[str, Any]) -> Variant:
    """Change a variant's barcode or low-stock threshold; nothing else changes after creation."""
    cleaned = dict(data)
    if "barcode" in cleaned:
        cleaned["barcode"] = (cleaned["barcode"] or "").strip() or None
    return _update(variant, cleaned, allowed=VARIANT_UPDATABLE_FIELDS)[0]


@transaction.atomic
def variant_delete(*, variant: Variant) -> None:
    """Delete a variant that never held stock. Its SKU stays issued and is never used again."""
    locked = Variant.objects.select_for_update(of=("self",)).get(pk=variant.pk)
    if locked.quantity > 0:
        raise Protected(
            "This variant still has stock and cannot be deleted; archive its product instead.",
            details={"sku": locked.sku, "quantity": locked.quantity},
        )
    if locked.movements.exists():
        raise Protected(
            "This variant has stock history and cannot be deleted; archive its product instead.",
            details={"sku": locked.sku, "quantity": locked.quantity},
        )
    locked.delete()


def _update(
    instance: _Model, data: Mapping[str, Any], *, allowed: tuple[str, ...]
) -> tuple[_Model, list[str]]:
    """Validate and write the fields of ``data`` that differ, and only those, so that a
    concurrent change of another field is not overwritten; the instance, and what changed."""
    refused = sorted(set(data).difference(allowed))
    if refused:
        raise ValidationError(dict.fromkeys(refused, "This field cannot be changed here."))
    # The current row, locked: it may have changed (or gone: 404) since the caller read it.
    instance = type(instance).objects.select_for_update(of=("self",)).get(pk=instance.pk)
    changed: list[str] = [f for f, value in data.items() if getattr(instance, f) != value]
    if changed:
        for field in changed:
            setattr(instance, field, data[field])
        # The fields written are checked, not the others: a variant's quantity is its sum over
        # every location, which may pass the ceiling that holds per location.
        instance.full_clean(
            exclude=[f.name for f in instance._meta.fields if f.name not in changed]
        )
        instance.save(update_fields=[*changed, "updated_at"])
    return instance, changed


def _sku_issue(sku: str) -> None:
    """Claim a SKU for good. The unique row is the claim, so two racing writers cannot both win;
    the loser hears of a conflict with the data, as a client whose SKU was taken before does."""
    try:
        with transaction.atomic():
            IssuedSku.objects.create(sku=sku)
    except IntegrityError as error:
        raise Conflict(
            "A value given is already taken in the catalog; see details for the fields.",
            details={"sku": [SKU_TAKEN]},
        ) from error


# Enough to step past every SKU a rival writer could claim between our look and our claim.
_SKU_CLAIM_ATTEMPTS = 5


def _sku_issue_generated(*, product: Product, size: str) -> str:
    """Generate and claim a SKU such as ``TEE-FW24-00042-LXL``.

    The product's id makes it unique in practice; a suffix steps past any SKU already issued
    (ids can come back on SQLite after deletes, and staff may have typed a SKU of this shape).
    """
    stem = "-".join(
        [
            _CATEGORY_CODES[Category(product.category)],
            product.collection,
            f"{product.pk:05d}",
            SIZE_CODES[Size(size)],
        ]
    )
    taken = set(IssuedSku.objects.filter(sku__startswith=stem).values_list("sku", flat=True))
    candidates = (
        stem if n == 1 else f"{stem}-{n}" for n in range(1, len(taken) + 2 + _SKU_CLAIM_ATTEMPTS)
    )
    for candidate in candidates:
        if candidate in taken:
            continue
        try:
            with transaction.atomic():
                IssuedSku.objects.create(sku=candidate)
        except IntegrityError:
            continue
        return candidate
    raise ValidationError({"sku": "Could not generate a free SKU; give one explicitly."})
