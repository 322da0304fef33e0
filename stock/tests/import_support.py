"""What the import's tests share: the sample file, the catalog the README's walkthrough has
when it imports that file (the demo catalog of `make run` and the README's Linen Tee), and the
helpers that write a file's rows and preview it."""

import json
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command

import stock
from catalog.models import ImportBatch, IssuedSku, Product, Variant
from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from stock.imports import import_batch_create, import_preview
from stock.imports.columns import Error
from stock.models import StockMovement

SAMPLE = Path(stock.__file__).parent / "samples" / "catalog_import.csv"
# The Quick start's product, created through the API: the payload of its curl example.
_README_PRODUCT = re.compile(r"-d '(\{[^']*\"name\": \"Linen Tee\"[^']*\})'")


def readme_product_payload() -> dict[str, Any]:
    readme = (settings.BASE_DIR / "README.md").read_text()
    found = _README_PRODUCT.search(readme)
    assert found, "the README's walkthrough creates a product called Linen Tee"
    payload: dict[str, Any] = json.loads(found.group(1))
    return payload


def readme_product_create() -> Product:
    """The README's Linen Tee, created through the product service as the API does."""
    payload = readme_product_payload()
    return product_create(
        category=payload["category"],
        name=payload["name"],
        color=payload["color"],
        price=Decimal(payload["price"]),
        collection=payload["collection"],
        variants=[VariantSpec(**variant) for variant in payload["variants"]],
        actor=system_actor("readme"),
    )


def walkthrough_catalog() -> None:
    """A fresh demo catalog plus the README's Linen Tee."""
    call_command("seed_demo", stdout=StringIO())
    readme_product_create()


HEADER = "sku,product,category,color,collection,price,size,barcode,received,counted"
EAN13 = "4006381333931"
EAN13_WRONG_CHECK_DIGIT = "4006381333932"
ACTOR = system_actor("test")


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *lines]).encode()


def new_row(sku: str = "NEW-1", **cells: str) -> str:
    values = {
        "sku": sku,
        "product": "Linen Tee",
        "category": "Tees",
        "color": "Sand",
        "collection": "ss25",
        "price": "35.00",
        "size": "S-M",
        "barcode": "",
        "received": "",
        "counted": "",
        **cells,
    }
    return ",".join(values[column] for column in HEADER.split(","))


def snapshot():
    return (
        list(Product.objects.order_by("pk").values()),
        list(Variant.objects.order_by("pk").values()),
        list(StockMovement.objects.order_by("pk").values()),
        IssuedSku.objects.count(),
    )


def preview_and_store(data: bytes) -> ImportBatch:
    preview = import_preview(data=data)
    assert preview.errors == []
    return import_batch_create(preview=preview, filename="test.csv")


def errors_of(data: bytes) -> list[tuple[int | None, str]]:
    return [(e["row"], e["column"]) for e in import_preview(data=data).errors]


def the_error(data: bytes) -> Error:
    [error] = import_preview(data=data).errors
    return error
