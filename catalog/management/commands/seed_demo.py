from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Category, IssuedSku, Size
from catalog.services import SIZE_CODES, VariantSpec, product_create
from catalog.validators import gtin_check_digit
from inventory_project.actors import system_actor

# name, category, color, price, collection, {size: quantity}
DEMO_PRODUCTS: list[tuple[str, str, str, str, str, dict[str, int]]] = [
    ("Organic Cotton Tee", Category.TEES, "Black", "29.90", "FW24", {Size.S_M: 14, Size.L_XL: 3}),
    ("Organic Cotton Tee", Category.TEES, "White", "29.90", "SS25", {Size.S_M: 22, Size.L_XL: 9}),
    ("Boxy Pocket Tee", Category.TEES, "Sage", "34.00", "SS25", {Size.S_M: 0, Size.L_XL: 6}),
    ("Striped Breton Tee", Category.TEES, "Navy", "39.00", "SS25", {Size.S_M: 5, Size.L_XL: 1}),
    ("Oversized Logo Tee", Category.TEES, "Washed Grey", "32.00", "FW25", {Size.ONE_SIZE: 18}),
    (
        "Merino Crew Sweater",
        Category.SWEATERS,
        "Charcoal",
        "89.00",
        "FW24",
        {Size.S_M: 7, Size.L_XL: 0},
    ),
    ("Chunky Cable Knit", Category.SWEATERS, "Ecru", "119.00", "FW24", {Size.ONE_SIZE: 4}),
    ("Cotton Half-Zip", Category.SWEATERS, "Forest", "79.00", "FW25", {Size.S_M: 11, Size.L_XL: 8}),
    (
        "Lightweight Cardigan",
        Category.SWEATERS,
        "Oat",
        "69.00",
        "SS25",
        {Size.S_M: 2, Size.L_XL: 5},
    ),
    ("Relaxed Chino", Category.PANTS, "Khaki", "74.00", "SS25", {Size.S_M: 16, Size.L_XL: 12}),
    ("Wide-Leg Trouser", Category.PANTS, "Black", "95.00", "FW24", {Size.S_M: 3, Size.L_XL: 0}),
    ("Cargo Pant", Category.PANTS, "Olive", "85.00", "FW25", {Size.S_M: 9, Size.L_XL: 10}),
    ("Drawstring Linen Pant", Category.PANTS, "Sand", "65.00", "SS25", {Size.ONE_SIZE: 0}),
]


def _demo_barcode(product_number: int, size_number: int) -> str:
    # GS1 prefix 200-299 is for in-store numbering, so demo codes never clash with real goods.
    digits = f"200{product_number:05d}{size_number:04d}"
    return digits + str(gtin_check_digit(digits))


class Command(BaseCommand):
    help = "Load a demo catalog across every category, collection and size. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for number, (name, category, color, price, collection, stock) in enumerate(
            DEMO_PRODUCTS, 1
        ):
            specs = [
                VariantSpec(
                    size=size,
                    quantity=quantity,
                    sku=f"DEMO-{number:03d}-{SIZE_CODES[Size(size)]}",
                    barcode=_demo_barcode(number, index),
                )
                for index, (size, quantity) in enumerate(stock.items(), 1)
            ]
            # SKUs are never reused, so an issued demo SKU means this product was seeded before.
            if IssuedSku.objects.filter(sku=specs[0].sku).exists():
                continue
            product_create(
                category=category,
                name=name,
                color=color,
                price=Decimal(price),
                collection=collection,
                variants=specs,
                actor=system_actor("seed_demo"),
            )
            created += 1
        self.stdout.write(
            f"Demo catalog: {created} product(s) created, {len(DEMO_PRODUCTS) - created} already there."
        )
