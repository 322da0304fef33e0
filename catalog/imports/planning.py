"""Planning: what each row does to the catalog as it is now, and what is wrong with it.

It reads the part of the catalog the file touches in a fixed number of queries per chunk of
rows (``CHUNK``), not per row, and checks every row against it: the file's own rows (a SKU or
barcode twice, rows of one product that disagree) and the catalog (a size the product has, a
SKU a deleted variant used, a barcode another variant has). The preview plans against the
catalog as it is; the apply plans again against the rows it has locked.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.imports.columns import (
    COLUMNS,
    FIELD_LABELS,
    NEW_SKU_REQUIRED,
    PRODUCT_COLUMNS,
    VARIANT_COLUMNS,
    Error,
    Row,
    chunks,
    error,
)
from catalog.imports.plan import (
    Counted,
    FieldChange,
    KnownProduct,
    KnownVariant,
    NewProduct,
    NewVariant,
    ProductFields,
    ProductPlan,
    Received,
    RowPlan,
    StockPlan,
    VariantPlan,
)
from catalog.imports.report import show
from catalog.models import IssuedSku, Product, Variant
from catalog.services import DEFAULT_LOW_STOCK_THRESHOLD
from catalog.validators import MAX_QUANTITY

# A product of the file: by id if the catalog has it, else by its key (name, color, collection).
ProductRef = int | tuple[str, str, str]


@dataclass(slots=True)
class State:
    """The part of the catalog the file touches, read in a fixed number of queries."""

    variants: dict[str, dict[str, Any]]  # by SKU
    products: dict[int, dict[str, Any]]  # by id: the product's plannable fields
    products_by_key: dict[tuple[str, str, str], list[int]]
    sizes: dict[int, dict[str, str]]  # product id -> size -> SKU
    issued: set[str]  # new SKUs of the file that were issued before
    barcodes: dict[str, str]  # barcode -> SKU of the variant that has it


_PRODUCT_VALUES = ("name", "category", "color", "collection", "price", "is_active")


def _product_values(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    product = {name: values[prefix + name] for name in _PRODUCT_VALUES}
    product["price"] = str(Decimal(product["price"]).quantize(Decimal("0.01")))
    return product


def _key(name: str, color: str, collection: str) -> tuple[str, str, str]:
    return (" ".join(name.split()).casefold(), " ".join(color.split()).casefold(), collection)


def load_state(rows: Sequence[Row], *, lock_products: Sequence[int] | None = None) -> State:
    """Read what the rows touch. With ``lock_products`` (when applying), lock those products
    and then the file's variants, each in primary-key order, before reading them."""
    locking = lock_products is not None
    if lock_products:
        for ids in chunks(sorted(lock_products)):
            list(
                # NO KEY: stock movements of these products, written meanwhile by sales,
                # take a key-share lock on them; a full lock would deadlock with those.
                Product.objects.select_for_update(no_key=True, of=("self",))
                .filter(pk__in=ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
    skus = sorted({row["sku"] for row in rows if row["sku"]})
    variant_fields = ("id", "sku", "product_id", "size", "barcode", "low_stock_threshold")
    product_fields = tuple(f"product__{name}" for name in _PRODUCT_VALUES)
    variants: dict[str, dict[str, Any]] = {}
    products: dict[int, dict[str, Any]] = {}
    for chunk in chunks(skus):
        queryset = Variant.objects.filter(sku__in=chunk).order_by("pk")
        if locking:
            queryset = queryset.select_for_update(of=("self",))
        for values in queryset.values(*variant_fields, "quantity", *product_fields):
            variants[values["sku"]] = values
            products[values["product_id"]] = _product_values(values, "product__")
    collections = sorted({row["collection"] for row in rows if row["collection"]})
    products_by_key: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for values in Product.objects.filter(collection__in=collections).values("id", *_PRODUCT_VALUES):
        products.setdefault(values["id"], _product_values(values))
        products_by_key[_key(values["name"], values["color"], values["collection"])].append(
            values["id"]
        )
    new_skus = [sku for sku in skus if sku not in variants]
    issued: set[str] = set()
    for chunk in chunks(new_skus):
        issued.update(IssuedSku.objects.filter(sku__in=chunk).values_list("sku", flat=True))
    barcodes: dict[str, str] = {}
    file_barcodes = sorted({row["barcode"] for row in rows if row["barcode"]})
    for chunk in chunks(file_barcodes):
        for barcode, sku in Variant.objects.filter(barcode__in=chunk).values_list("barcode", "sku"):
            barcodes[barcode or ""] = sku
    return State(
        variants=variants,
        products=products,
        products_by_key=dict(products_by_key),
        sizes={},
        issued=issued,
        barcodes=barcodes,
    )


def _load_sizes(state: State, product_ids: Sequence[int]) -> None:
    """The sizes the products that gain variants already have."""
    for chunk in chunks(sorted(product_ids)):
        for product_id, size, sku in Variant.objects.filter(product_id__in=chunk).values_list(
            "product_id", "size", "sku"
        ):
            state.sizes.setdefault(product_id, {})[size] = sku


def plan_rows(
    rows: Sequence[Row], state: State, *, columns: Collection[str] = COLUMNS
) -> tuple[list[RowPlan], list[Error]]:
    """What each row does, given the catalog as ``state`` has it, and what is wrong.

    Rows with errors of their own (from parsing) are checked too, as far as their valid cells
    allow, so that every error of the file shows at once; only rows without errors are planned.
    ``columns`` are those the file has: a new SKU's row misses the others all at once.
    """
    errors: list[Error] = []
    first_row_of_sku: dict[str, int] = {}
    first_row_of_barcode: dict[str, int] = {}
    # Products and the values the file gives them: by id, or by key for new products.
    wanted: dict[ProductRef, dict[str, tuple[Any, int]]] = defaultdict(dict)
    bad_rows = {row["row"] for row in rows if "invalid" in row}

    def fail(row: Row, column: str, message: str) -> None:
        errors.append(error(row["row"], column, message))
        bad_rows.add(row["row"])

    def want(ref: ProductRef, row: Row) -> None:
        for column, name in PRODUCT_COLUMNS.items():
            value = row[column]
            if value is None:
                continue
            first = wanted[ref].get(name)
            if first is None:
                wanted[ref][name] = (value, row["row"])
            elif first[0] != value:
                fail(
                    row,
                    column,
                    f"Row {first[1]} gives this product the {FIELD_LABELS[name]} "
                    f"{show(first[0])}; this row gives {show(value)}.",
                )

    # Pass 1: within the file, and the rows of SKUs the catalog has.
    for row in rows:
        sku = row["sku"]
        if sku is None:
            continue  # its own error says it has no SKU; nothing else can be checked
        if sku in first_row_of_sku:
            fail(row, "sku", f"SKU {sku} is on row {first_row_of_sku[sku]} already.")
            continue
        first_row_of_sku[sku] = row["row"]
        barcode = row["barcode"]
        if barcode:
            if barcode in first_row_of_barcode:
                fail(row, "barcode", f"Row {first_row_of_barcode[barcode]} has this barcode too.")
            first_row_of_barcode[barcode] = row["row"]
            owner = state.barcodes.get(barcode)
            if owner is not None and owner != sku:
                fail(row, "barcode", f"Barcode {barcode} belongs to SKU {owner} already.")
        variant = state.variants.get(sku)
        if variant is not None:
            if row["size"] is not None and row["size"] != variant["size"]:
                fail(
                    row,
                    "size",
                    f"SKU {sku} is size {variant['size']}; a variant's size never changes.",
                )
            want(variant["product_id"], row)
            received = row["received"] or 0
            if variant["quantity"] + received > MAX_QUANTITY:
                fail(row, "received", f"A quantity cannot exceed {MAX_QUANTITY:,}.")
            continue
        if sku in state.issued:
            fail(row, "sku", f"SKU {sku} was used by a deleted variant; SKUs are never reused.")
        invalid = row.get("invalid", ())
        missing = [c for c in NEW_SKU_REQUIRED if row[c] is None and c not in invalid]
        for column in missing:
            if column in columns:
                fail(row, column, f"SKU {sku} is new: give its {column} to create it.")
        # One error, not one per column: in a delivery note (sku, received) an unknown SKU is
        # most likely a wrong one, and a row a column cannot point at.
        if absent := [column for column in missing if column not in columns]:
            fail(
                row,
                "sku",
                f"SKU {sku} is not in the catalog; to create it, the file needs columns for its "
                f"{', '.join(absent)}.",
            )

    # The products of the known SKUs, as the file leaves them: new SKUs join them by key.
    # Their current keys do not count (a row may rename its product).
    products_of_known_skus = {ref for ref in wanted if isinstance(ref, int)}
    keys_in_file: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for product_id in products_of_known_skus:
        final = _final(state.products[product_id], wanted[product_id])
        keys_in_file[_key(final["name"], final["color"], final["collection"])].add(product_id)

    # Pass 2: the new SKUs find or create their product: every row that says which product
    # and size, so that a row with another error still gets its size and product checked.
    new_rows = [
        row
        for row in rows
        if row["sku"] is not None
        and row["sku"] not in state.variants
        and first_row_of_sku[row["sku"]] == row["row"]
        and all(row[column] is not None for column in ("product", "color", "collection", "size"))
    ]
    product_of_row: dict[int, ProductRef] = {}
    for row in new_rows:
        key = _key(row["product"], row["color"], row["collection"])
        candidates = keys_in_file.get(key) or {
            product_id
            for product_id in state.products_by_key.get(key, [])
            if product_id not in products_of_known_skus
        }
        if len(candidates) > 1:
            ids = ", ".join(f"#{product_id}" for product_id in sorted(candidates))
            fail(
                row,
                "product",
                f"Several products are called {row['product']} ({row['color']}, "
                f"{row['collection']}): {ids}. Give this variant in the admin.",
            )
            continue
        ref: ProductRef = next(iter(candidates)) if candidates else key
        product_of_row[row["row"]] = ref
        want(ref, row)
    _load_sizes(state, sorted({ref for ref in product_of_row.values() if isinstance(ref, int)}))
    sizes_in_file: dict[ProductRef, dict[str, int]] = defaultdict(dict)
    for row in new_rows:
        ref_or_none = product_of_row.get(row["row"])
        if ref_or_none is None:
            continue
        size = row["size"]
        if isinstance(ref_or_none, int) and size in state.sizes.get(ref_or_none, {}):
            taken = state.sizes[ref_or_none][size]
            fail(row, "size", f"This product has size {size} already, as SKU {taken}.")
        elif size in sizes_in_file[ref_or_none]:
            fail(row, "size", f"Row {sizes_in_file[ref_or_none][size]} adds this size already.")
        else:
            sizes_in_file[ref_or_none][size] = row["row"]

    # Pass 3: each good row's plan.
    new_product_numbers: dict[tuple[str, str, str], int] = {}
    plan: list[RowPlan] = []
    for row in rows:
        if row["row"] in bad_rows:
            continue
        variant = state.variants.get(row["sku"])
        ref = variant["product_id"] if variant is not None else product_of_row[row["row"]]
        plan.append(_row_plan(row, variant, ref, state, wanted, new_product_numbers))
    return plan, errors


def _final(current: Mapping[str, Any], given: Mapping[str, tuple[Any, int]]) -> dict[str, Any]:
    return {**current, **{name: value for name, (value, _) in given.items()}}


def _row_plan(
    row: Row,
    variant: Mapping[str, Any] | None,
    ref: ProductRef,
    state: State,
    wanted: Mapping[ProductRef, Mapping[str, tuple[Any, int]]],
    new_product_numbers: dict[tuple[str, str, str], int],
) -> RowPlan:
    product: ProductPlan
    if isinstance(ref, int):
        current = state.products[ref]
        final = _final(current, wanted[ref])
        label = _label(final)
        product = KnownProduct(
            id=ref,
            changes=tuple(
                FieldChange(name, current[name], value)
                for name, value in final.items()
                if current[name] != value
            ),
            label=label,
        )
    else:
        number = new_product_numbers.setdefault(ref, len(new_product_numbers) + 1)
        final = _final({"is_active": True}, wanted[ref])
        product = NewProduct(number=number, fields=ProductFields(**final), label=_label(final))
    variant_plan: VariantPlan
    if variant is None:
        threshold = row["low_stock_threshold"]
        variant_plan = NewVariant(
            size=row["size"],
            barcode=row["barcode"],
            low_stock_threshold=DEFAULT_LOW_STOCK_THRESHOLD if threshold is None else threshold,
        )
        quantity = 0
    else:
        variant_plan = KnownVariant(
            id=variant["id"],
            size=variant["size"],
            changes=tuple(
                FieldChange(name, variant[name], row[column])
                for column, name in VARIANT_COLUMNS.items()
                if row[column] is not None and row[column] != variant[name]
            ),
        )
        quantity = variant["quantity"]
    stock: StockPlan | None = None
    if row["received"]:
        stock = Received(units=row["received"])
    elif row["counted"] is not None:
        stock = Counted(counted=row["counted"], was=quantity)
    return RowPlan(
        row=row["row"], sku=row["sku"], product=product, variant=variant_plan, stock=stock
    )


def _label(final: Mapping[str, Any]) -> str:
    return f"{final['name']} ({final['color']}, {final['collection']})"


def known_product_ids(plan: Sequence[RowPlan]) -> list[int]:
    """The products of the catalog the plan touches, in primary-key order: those to lock."""
    return sorted({entry.product.id for entry in plan if isinstance(entry.product, KnownProduct)})
