"""What the import's tests share: the sample file, and the catalog the README's walkthrough has
when it imports that file (the demo catalog of `make run` and the README's Linen Tee)."""

import json
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command

import catalog
from catalog.models import Product
from catalog.services import VariantSpec, product_create
from core.actors import system_actor

SAMPLE = Path(catalog.__file__).parent / "samples" / "catalog_import.csv"
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
