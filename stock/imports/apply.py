"""Applying a previewed batch once, all or nothing, in one transaction.

It claims the batch, locks the products and variants it touches in primary-key order (products
first, as ``product_delete`` does), plans the rows again against the locked data and refuses,
changing nothing, unless the plan is exactly the one the preview showed. Then it writes products
and variants in bulk (a fixed number of statements per chunk of rows) and every stock change
through the stock service (``stock_apply``, ``stock_open``) at each row's location, with the
staff user as the actor.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ImportBatch, ImportBatchStatus, IssuedSku, Product, Variant
from catalog.versions import catalog_changed
from core.actors import Actor
from stock.count_selectors import count_open_at
from stock.exceptions import CountSessionOpen
from stock.imports.columns import STOCK_CHUNK, chunks
from stock.imports.exceptions import ImportAppliedBefore, ImportRefused
from stock.imports.plan import (
    KnownProduct,
    KnownVariant,
    NewProduct,
    NewVariant,
    Received,
    RowPlan,
    at_default,
    plan_from_json,
)
from stock.imports.planning import State, known_product_ids, load_state, plan_rows
from stock.imports.preview import import_batches_applied
from stock.imports.report import differences, summary
from stock.ledger import StockChange
from stock.models import MovementReason
from stock.services import stock_apply, stock_open


@transaction.atomic
def import_apply(
    *, batch: ImportBatch, actor: Actor, allow_reimport: bool = False
) -> dict[str, int]:
    """Apply a previewed batch, all or nothing, once. Returns the summary of what it did.

    A file whose content was applied before (as another batch) is refused unless
    ``allow_reimport``: a delivery note imported twice would receive its goods twice.
    """
    earlier = list(import_batches_applied(content_hash=batch.content_hash, excluding=batch.pk))
    try:
        with transaction.atomic():
            claimed = ImportBatch.objects.filter(
                pk=batch.pk, status=ImportBatchStatus.PREVIEWED, error_count=0
            ).update(
                status=ImportBatchStatus.APPLIED,
                applied_at=timezone.now(),
                applied_by_id=actor.user_id,
                applied_actor=actor.name[:150],
                reimport=bool(earlier),
            )
    except IntegrityError as error:
        # The database keeps one first application per content (a unique index). It refused
        # this one: another batch of the same file was applied meanwhile, and committed while
        # this claim waited for it. So two concurrent applies of one file apply it once.
        raise ImportAppliedBefore(
            list(import_batches_applied(content_hash=batch.content_hash, excluding=batch.pk))
        ) from error
    if not claimed:
        status = ImportBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).first()
        if status == ImportBatchStatus.APPLIED:
            raise ImportRefused("This import was applied already; it is applied once only.")
        raise ImportRefused("This import has errors; fix the file and preview it again.")
    if earlier and not allow_reimport:
        raise ImportAppliedBefore(earlier)  # the claim is rolled back with the transaction
    rows, stored_plan = batch.rows, plan_from_json(batch.plan)
    state = load_state(rows, lock_products=known_product_ids(stored_plan))
    preview_plan = at_default(stored_plan, state.locations.default)
    plan, errors = plan_rows(rows, state)
    if errors or plan != preview_plan:
        raise ImportRefused(
            "The catalog changed since the preview; nothing was changed. Preview the file again.",
            details={"rows": differences(preview_plan, plan, errors)},
        )
    try:
        with transaction.atomic():
            variant_ids = _write_catalog(plan, state, batch=batch, actor=actor)
    except IntegrityError as error:
        # A SKU or barcode claimed by a concurrent writer after our look: nothing is written.
        raise ImportRefused(
            "A SKU or barcode of this file was taken by another change just now; nothing was "
            "changed. Preview the file again.",
        ) from error
    _write_stock(plan, variant_ids, state, batch=batch, actor=actor)
    return summary(plan, len(rows), 0)


def _write_catalog(
    plan: Sequence[RowPlan], state: State, *, batch: ImportBatch, actor: Actor
) -> dict[str, int]:
    """Create and change the products and variants; return every row's variant id by SKU.

    A new variant is created with its opening quantity and an ``initial`` movement by the
    actor, as ``services.variant_create`` does, but in bulk: a fixed number of INSERTs per
    chunk of rows instead of several queries per row.
    """
    catalog_changed()  # bulk statements send no signals
    now = timezone.now()
    new_products: dict[int, Product] = {}
    changes_of_product: dict[int, dict[str, Any]] = {}
    for entry in plan:
        product = entry.product
        if isinstance(product, NewProduct) and product.number not in new_products:
            fields = product.fields
            new_products[product.number] = Product(
                name=fields.name,
                category=fields.category,
                color=fields.color,
                collection=fields.collection,
                price=Decimal(fields.price),
                is_active=fields.is_active,
                created_at=now,
                updated_at=now,
            )
        elif isinstance(product, KnownProduct) and product.changes:
            changes_of_product[product.id] = {
                change.field: Decimal(str(change.new)) if change.field == "price" else change.new
                for change in product.changes
            }
    Product.objects.bulk_create(new_products.values())
    _update_grouped(Product, changes_of_product, now=now)

    new_variants: list[Variant] = []
    opening_at: dict[str, list[Variant]] = defaultdict(list)
    for entry in plan:
        if not isinstance(entry.variant, NewVariant):
            continue
        product = entry.product
        variant = Variant(
            product_id=(
                new_products[product.number].pk if isinstance(product, NewProduct) else product.id
            ),
            sku=entry.sku,
            size=entry.variant.size,
            quantity=entry.opening_quantity,
            created_at=now,
            updated_at=now,
            barcode=entry.variant.barcode,
            low_stock_threshold=entry.variant.low_stock_threshold,
        )
        new_variants.append(variant)
        if entry.stock is not None:
            opening_at[entry.stock.location or state.locations.default].append(variant)
    # The claim on each SKU for good (see catalog.services._sku_issue); a concurrent claim
    # fails here.
    IssuedSku.objects.bulk_create([IssuedSku(sku=variant.sku) for variant in new_variants])
    Variant.objects.bulk_create(new_variants)
    for code, opening in sorted(opening_at.items()):
        stock_open(
            opening,
            actor=actor,
            location=state.locations.by_code[code],
            note=_note(batch),
            reference=_reference(batch),
            at=now,
        )

    # Barcodes are unique, so each is its own value: bulk_update. Thresholds repeat: grouped.
    changed = [
        (entry.variant.id, {change.field: change.new for change in entry.variant.changes})
        for entry in plan
        if isinstance(entry.variant, KnownVariant) and entry.variant.changes
    ]
    barcodes = [
        Variant(pk=pk, barcode=new["barcode"], updated_at=now)
        for pk, new in changed
        if "barcode" in new
    ]
    Variant.objects.bulk_update(barcodes, ["barcode", "updated_at"], batch_size=STOCK_CHUNK)
    _update_grouped(
        Variant,
        {
            pk: {"low_stock_threshold": new["low_stock_threshold"]}
            for pk, new in changed
            if "low_stock_threshold" in new
        },
        now=now,
    )
    ids = {sku: values["id"] for sku, values in state.variants.items()}
    ids.update({variant.sku: variant.pk for variant in new_variants})
    return ids


def _update_grouped(
    model: type[Product] | type[Variant],
    changes: Mapping[int, Mapping[str, Any]],
    *,
    now: datetime,
) -> None:
    """One UPDATE per distinct set of new values (a new price for a whole collection is one
    query), rather than ``bulk_update``'s CASE, which costs about half a millisecond a row in
    Python. The rows are locked, so writing by id overwrites nothing concurrent."""
    ids_by_values: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for pk, values in changes.items():
        ids_by_values[tuple(sorted(values.items()))].append(pk)
    for new_values, ids in ids_by_values.items():
        for chunk in chunks(sorted(ids)):
            model.objects.filter(pk__in=chunk).update(**dict(new_values), updated_at=now)


def _note(batch: ImportBatch) -> str:
    return (f"CSV import #{batch.pk}" + (f" ({batch.filename})" if batch.filename else ""))[:500]


def _reference(batch: ImportBatch) -> str:
    return f"import-{batch.pk}"


def _write_stock(
    plan: Sequence[RowPlan],
    variant_ids: Mapping[str, int],
    state: State,
    *,
    batch: ImportBatch,
    actor: Actor,
) -> None:
    """The stock of the variants that existed: through the stock service, per reason and
    location, in chunks (each in primary-key order; the file's variants are all locked
    already, so the calls' order cannot deadlock)."""
    changes: dict[tuple[str, str], list[StockChange]] = defaultdict(list)
    for entry in plan:
        if not isinstance(entry.variant, KnownVariant) or entry.stock is None:
            continue
        where = entry.stock.location or state.locations.default
        if isinstance(entry.stock, Received):
            key, delta = (MovementReason.RECEIVED, where), entry.stock.units
        else:
            key, delta = (MovementReason.COUNT_CORRECTION, where), entry.stock.delta
        changes[key].append(StockChange(variant_id=variant_ids[entry.sku], delta=delta))
    # A count at a location where a count session is open would be corrected twice (see
    # ``stock.counts``), as a single count there would be: refused, as ``stock_count`` does.
    # The variants are locked, and entering a session's count locks its variant too.
    for where in sorted(
        {where for reason, where in changes if reason == MovementReason.COUNT_CORRECTION}
    ):
        session_id = count_open_at(state.locations.by_code[where])
        if session_id is not None:
            # Refused as the import's other refusals are, which the admin and the command show.
            open_session = CountSessionOpen(
                location=where, session_id=session_id, doing="count these variants in it"
            )
            raise ImportRefused(open_session.message, details=open_session.details)
    # Deliveries first, then counts (as before there were locations), each by location.
    order = (MovementReason.RECEIVED, MovementReason.COUNT_CORRECTION)
    for (reason, where), at_location in sorted(
        changes.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
    ):
        ordered = sorted(at_location, key=lambda change: change.variant_id)
        for chunk in chunks(ordered, STOCK_CHUNK):
            stock_apply(
                changes=chunk,
                reason=reason,
                actor=actor,
                location=state.locations.by_code[where],
                note=_note(batch),
                reference=_reference(batch),
            )
