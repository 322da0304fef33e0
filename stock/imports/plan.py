"""The plan: what each row of a file does to its product, its variant and its stock.

The preview shows it and ``ImportBatch.plan`` keeps it as JSON; the apply plans the rows again
against the locked catalog and applies only a plan equal to the one the preview showed. Here it
is typed and frozen; ``to_json`` and ``from_json`` convert it to and from the stored form, whose
shape is unchanged (batches previewed before still apply):

    {"row": 2, "sku": "...",
     "product": {"action": "create", "new": 1, "fields": {...}, "label": "..."}
                | {"action": "change" | "none", "id": 7, "changes": {name: [old, new]},
                   "label": "..."},
     "variant": {"action": "create", "id": null, "size": "...",
                 "fields": {"barcode": ..., "low_stock_threshold": ...}}
                | {"action": "change" | "none", "id": 9, "size": "...",
                   "changes": {name: [old, new]}},
     "stock": null | {"received": 4, "location": "MAIN"}
              | {"counted": 15, "from": 16, "location": "STORE-01"}}

A stock plan stored before there were locations has no ``"location"``: it happens at the
default location (``at_default`` says which that is, when the plan is applied).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

# A field's value as a row gives it and the plan keeps it: text (a price as "29.90"), a whole
# number, yes or no, or none (a variant without a barcode).
Value = str | int | bool | None
# The stored form of one row's plan.
StoredRow = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Value
    new: Value


Changes = tuple[FieldChange, ...]


def _changes_to_json(changes: Changes) -> dict[str, list[Value]]:
    return {change.field: [change.old, change.new] for change in changes}


def _changes_from_json(changes: Mapping[str, Sequence[Value]]) -> Changes:
    return tuple(FieldChange(name, old, new) for name, (old, new) in changes.items())


@dataclass(frozen=True, slots=True)
class ProductFields:
    """A new product's fields, as the file gives them (``is_active`` unless it says no)."""

    name: str
    category: str
    color: str
    collection: str
    price: str
    is_active: bool

    def to_json(self) -> dict[str, Value]:
        return {
            "is_active": self.is_active,
            "name": self.name,
            "category": self.category,
            "color": self.color,
            "collection": self.collection,
            "price": self.price,
        }


@dataclass(frozen=True, slots=True)
class NewProduct:
    """A product the file creates; its rows share its ``number`` (1, 2, ... in the file)."""

    number: int
    fields: ProductFields
    label: str
    action: Literal["create"] = "create"

    def to_json(self) -> StoredRow:
        return {
            "action": self.action,
            "new": self.number,
            "fields": self.fields.to_json(),
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class KnownProduct:
    """A product of the catalog: the changes the file makes to it, if any."""

    id: int
    changes: Changes
    label: str

    @property
    def action(self) -> Literal["change", "none"]:
        return "change" if self.changes else "none"

    def to_json(self) -> StoredRow:
        return {
            "action": self.action,
            "id": self.id,
            "changes": _changes_to_json(self.changes),
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class NewVariant:
    size: str
    barcode: str | None
    low_stock_threshold: int
    action: Literal["create"] = "create"

    def to_json(self) -> StoredRow:
        return {
            "action": self.action,
            "id": None,
            "size": self.size,
            "fields": {"barcode": self.barcode, "low_stock_threshold": self.low_stock_threshold},
        }


@dataclass(frozen=True, slots=True)
class KnownVariant:
    id: int
    size: str
    changes: Changes

    @property
    def action(self) -> Literal["change", "none"]:
        return "change" if self.changes else "none"

    def to_json(self) -> StoredRow:
        return {
            "action": self.action,
            "id": self.id,
            "size": self.size,
            "changes": _changes_to_json(self.changes),
        }


def _location_to_json(location: str | None) -> StoredRow:
    return {} if location is None else {"location": location}


@dataclass(frozen=True, slots=True)
class Received:
    """Units received at a location: a ``received`` movement (or a new variant's opening
    quantity). ``location`` is a code; ``None`` only in plans stored before there were
    locations (see ``at_default``)."""

    units: int
    location: str | None = None

    def to_json(self) -> StoredRow:
        return {"received": self.units, **_location_to_json(self.location)}


@dataclass(frozen=True, slots=True)
class Counted:
    """The units counted on the shelf at a location, and the units on hand there it corrects
    (``was``): a ``count_correction`` movement of the difference (or a new variant's opening
    quantity)."""

    counted: int
    was: int
    location: str | None = None

    @property
    def delta(self) -> int:
        return self.counted - self.was

    def to_json(self) -> StoredRow:
        return {"counted": self.counted, "from": self.was, **_location_to_json(self.location)}


ProductPlan = NewProduct | KnownProduct
VariantPlan = NewVariant | KnownVariant
StockPlan = Received | Counted


@dataclass(frozen=True, slots=True)
class RowPlan:
    """What one row does: to its product, its variant, and its stock (``None``: nothing)."""

    row: int
    sku: str
    product: ProductPlan
    variant: VariantPlan
    stock: StockPlan | None

    @property
    def opening_quantity(self) -> int:
        """A new variant's quantity: what the row receives or counts."""
        if isinstance(self.stock, Received):
            return self.stock.units
        if isinstance(self.stock, Counted):
            return self.stock.counted
        return 0

    def to_json(self) -> StoredRow:
        return {
            "row": self.row,
            "sku": self.sku,
            "product": self.product.to_json(),
            "variant": self.variant.to_json(),
            "stock": None if self.stock is None else self.stock.to_json(),
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> "RowPlan":
        return cls(
            row=stored["row"],
            sku=stored["sku"],
            product=_product_from_json(stored["product"]),
            variant=_variant_from_json(stored["variant"]),
            stock=_stock_from_json(stored["stock"]),
        )


def _product_from_json(stored: Mapping[str, Any]) -> ProductPlan:
    if stored["action"] == "create":
        return NewProduct(
            number=stored["new"], fields=ProductFields(**stored["fields"]), label=stored["label"]
        )
    return KnownProduct(
        id=stored["id"], changes=_changes_from_json(stored["changes"]), label=stored["label"]
    )


def _variant_from_json(stored: Mapping[str, Any]) -> VariantPlan:
    if stored["action"] == "create":
        return NewVariant(size=stored["size"], **stored["fields"])
    return KnownVariant(
        id=stored["id"], size=stored["size"], changes=_changes_from_json(stored["changes"])
    )


def _stock_from_json(stored: Mapping[str, Any] | None) -> StockPlan | None:
    if stored is None:
        return None
    location = stored.get("location")
    if "received" in stored:
        return Received(units=stored["received"], location=location)
    return Counted(counted=stored["counted"], was=stored["from"], location=location)


def at_default(plan: Sequence[RowPlan], default: str) -> list[RowPlan]:
    """The plan with the default location's code in each stock plan that names none (stored
    before there were locations, when all stock was at what is now the default)."""
    return [
        replace(entry, stock=replace(entry.stock, location=default))
        if entry.stock is not None and entry.stock.location is None
        else entry
        for entry in plan
    ]


def plan_to_json(plan: Sequence[RowPlan]) -> list[StoredRow]:
    return [entry.to_json() for entry in plan]


def plan_from_json(stored: Sequence[Mapping[str, Any]]) -> list[RowPlan]:
    return [RowPlan.from_json(entry) for entry in stored]
