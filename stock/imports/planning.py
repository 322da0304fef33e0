"""Planning: what each row does to the catalog as it is now, and what is wrong with it.

It reads the part of the catalog the file touches, and its variants' stock levels, in a fixed
number of queries per chunk of rows (``CHUNK``), not per row, and checks every row against it:
the file's own rows (a SKU twice at one location or a barcode on two SKUs, rows of one product
or one variant that disagree) and the catalog (a size the product has, a SKU a deleted variant
used, a barcode another variant has, a location that takes no stock). The preview plans against
the catalog as it is; the apply plans again against the rows it has locked.

A row's quantities are at its location (the default one when it names none). A known SKU may
have a row per location; its field changes may be on any of them, and they must agree. A new
SKU is created by one row, with its opening stock at that row's location.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.models import IssuedSku, Product, Variant
from catalog.services import DEFAULT_LOW_STOCK_THRESHOLD
from catalog.validators import MAX_QUANTITY
from stock.imports.columns import (
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
from stock.imports.locations import FileLocations, Levels, file_levels, file_locations
from stock.imports.plan import (
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
from stock.imports.report import show

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
    locations: FileLocations
    levels: Levels  # the known variants' units (on hand, committed) at each location

    def level(self, variant_id: int, code: str) -> tuple[int, int]:
        """A variant's units on hand and committed at the location with ``code`` (a known,
        active one): none there yet is (0, 0)."""
        return self.levels.get((variant_id, self.locations.by_code[code].pk), (0, 0))


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
        for values in queryset.values(*variant_fields, *product_fields):
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
        locations=file_locations(),
        levels=file_levels([values["id"] for values in variants.values()]),
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
    first_row_at: dict[tuple[str, str], int] = {}  # by SKU and location
    first_row_of_barcode: dict[str, tuple[int, str]] = {}  # its row and SKU
    # Products and the values the file gives them: by id, or by key for new products.
    wanted: dict[ProductRef, dict[str, tuple[Any, int]]] = defaultdict(dict)
    # The known variants and the values the file gives them, by SKU.
    wanted_of_variant: dict[str, dict[str, tuple[Any, int]]] = defaultdict(dict)
    bad_rows = {row["row"] for row in rows if "invalid" in row}

    def fail(row: Row, column: str, message: str) -> None:
        errors.append(error(row["row"], column, message))
        bad_rows.add(row["row"])

    def agree(
        wanted_values: dict[str, tuple[Any, int]],
        row: Row,
        fields: Mapping[str, str],
        what: str,
    ) -> None:
        for column, name in fields.items():
            value = row[column]
            if value is None:
                continue
            first = wanted_values.get(name)
            if first is None:
                wanted_values[name] = (value, row["row"])
            elif first[0] != value:
                fail(
                    row,
                    column,
                    f"Row {first[1]} gives {what} the {FIELD_LABELS[name]} "
                    f"{show(first[0])}; this row gives {show(value)}.",
                )

    def want(ref: ProductRef, row: Row) -> None:
        agree(wanted[ref], row, PRODUCT_COLUMNS, "this product")

    # Pass 1: within the file, and the rows of SKUs the catalog has.
    for row in rows:
        sku = row["sku"]
        if sku is None:
            continue  # its own error says it has no SKU; nothing else can be checked
        where = location_of(row, state)
        problem = state.locations.error(where)
        if problem is not None:
            fail(row, "location", problem)
        if (sku, where) in first_row_at:
            at = "" if row.get("location") is None else f", at {where}"
            fail(row, "sku", f"SKU {sku} is on row {first_row_at[sku, where]} already{at}.")
            continue
        first_row_at[sku, where] = row["row"]
        first = first_row_of_sku.setdefault(sku, row["row"])
        variant = state.variants.get(sku)
        if variant is None and first != row["row"]:
            fail(
                row,
                "sku",
                f"SKU {sku} is new: row {first} creates it, with its stock there. Stock at "
                "other locations can follow in another file, once it exists.",
            )
            continue
        barcode = row["barcode"]
        if barcode:
            seen = first_row_of_barcode.setdefault(barcode, (row["row"], sku))
            if seen[1] != sku:
                fail(row, "barcode", f"Row {seen[0]} has this barcode too.")
            owner = state.barcodes.get(barcode)
            if owner is not None and owner != sku:
                fail(row, "barcode", f"Barcode {barcode} belongs to SKU {owner} already.")
        if variant is not None:
            if row["size"] is not None and row["size"] != variant["size"]:
                fail(
                    row,
                    "size",
                    f"SKU {sku} is size {variant['size']}; a variant's size never changes.",
                )
            want(variant["product_id"], row)
            agree(wanted_of_variant[sku], row, VARIANT_COLUMNS, f"SKU {sku}")
            if problem is None:
                _check_level(row, where, state.level(variant["id"], where), fail)
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
        # The variant's changes go with the first row of its SKU; its other rows (other
        # locations) agree with them.
        variant_wanted = (
            wanted_of_variant[row["sku"]] if first_row_of_sku[row["sku"]] == row["row"] else {}
        )
        plan.append(
            _row_plan(row, variant, ref, state, wanted, variant_wanted, new_product_numbers)
        )
    return plan, errors


def location_of(row: Row, state: State) -> str:
    """The code of the row's location: the one it names, or the default. (Rows kept before
    there was a location column have none.)"""
    code: str | None = row.get("location")
    return code or state.locations.default


def _check_level(
    row: Row, where: str, level: tuple[int, int], fail: Callable[[Row, str, str], None]
) -> None:
    """What the stock service would refuse for a known variant's row at ``where``."""
    on_hand, committed = level
    if on_hand + (row["received"] or 0) > MAX_QUANTITY:
        fail(row, "received", f"A quantity cannot exceed {MAX_QUANTITY:,}.")
    counted = row["counted"]
    if counted is not None and counted < committed:
        fail(
            row,
            "counted",
            f"{committed} units at {where} are committed to open orders: a count below that "
            "needs some of them cancelled first.",
        )


def _final(current: Mapping[str, Any], given: Mapping[str, tuple[Any, int]]) -> dict[str, Any]:
    return {**current, **{name: value for name, (value, _) in given.items()}}


def _row_plan(
    row: Row,
    variant: Mapping[str, Any] | None,
    ref: ProductRef,
    state: State,
    wanted: Mapping[ProductRef, Mapping[str, tuple[Any, int]]],
    variant_wanted: Mapping[str, tuple[Any, int]],
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
    else:
        variant_plan = KnownVariant(
            id=variant["id"],
            size=variant["size"],
            changes=tuple(
                FieldChange(name, variant[name], variant_wanted[name][0])
                for name in VARIANT_COLUMNS.values()
                if name in variant_wanted and variant_wanted[name][0] != variant[name]
            ),
        )
    where = location_of(row, state)
    stock: StockPlan | None = None
    if row["received"]:
        stock = Received(units=row["received"], location=where)
    elif row["counted"] is not None:
        # A count sets the units on hand there (committed units are on the shelf too).
        on_hand = 0 if variant is None else state.level(variant["id"], where)[0]
        stock = Counted(counted=row["counted"], was=on_hand, location=where)
    return RowPlan(
        row=row["row"], sku=row["sku"], product=product, variant=variant_plan, stock=stock
    )


def _label(final: Mapping[str, Any]) -> str:
    return f"{final['name']} ({final['color']}, {final['collection']})"


def known_product_ids(plan: Sequence[RowPlan]) -> list[int]:
    """The products of the catalog the plan touches, in primary-key order: those to lock."""
    return sorted({entry.product.id for entry in plan if isinstance(entry.product, KnownProduct)})
